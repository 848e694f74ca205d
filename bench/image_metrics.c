#include <math.h>

#include "image_metrics.h"

double psnr_rgb(const uint8_t *a, const uint8_t *b, size_t bytes)
{
    double se = 0;
    for (size_t i = 0; i < bytes; i++) {
        double d = (double)a[i] - (double)b[i];
        se += d * d;
    }
    if (se == 0)
        return 99.0;
    return 10.0 * log10(255.0 * 255.0 / (se / (double)bytes));
}

static double luma(const uint8_t *p)
{
    return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
}

double ssim_luma(const uint8_t *a, const uint8_t *b, int width, int height)
{
    const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
    double total = 0;
    int windows = 0;
    for (int y = 0; y + 8 <= height; y += 4)
        for (int x = 0; x + 8 <= width; x += 4) {
            double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
            for (int dy = 0; dy < 8; dy++)
                for (int dx = 0; dx < 8; dx++) {
                    size_t at = ((size_t)(y + dy) * width + (x + dx)) * 3;
                    double va = luma(a + at), vb = luma(b + at);
                    sa += va; sb += vb; saa += va * va; sbb += vb * vb; sab += va * vb;
                }
            double n = 64, ma = sa / n, mb = sb / n;
            double va = saa / n - ma * ma, vb = sbb / n - mb * mb, cov = sab / n - ma * mb;
            total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            windows++;
        }
    return windows ? total / windows : 1.0;
}
