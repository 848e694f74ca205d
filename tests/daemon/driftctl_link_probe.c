/* Linked with what driftctl links and --no-as-needed: see driftctl_links_test.sh. */
int main(void)
{
    return 0;
}
