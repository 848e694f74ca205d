# bash completion for driftctl(1).
# Commands and setting keys come from driftctl itself (driftctl --help, driftctl keys: the
# settings table), stream names and job ids from the running daemon (driftctl --json streams,
# jobs), on the bus or socket the command line names; so that nothing here can fall out of step
# with the program.

# The global options of the line being completed, to reach the same daemon.
_driftctl_bus_args()
{
    local i
    _driftctl_bus=()
    for ((i = 1; i < ${#_driftctl_words[@]}; i++)); do
        case ${_driftctl_words[i]} in
        --system | --user) _driftctl_bus+=("${_driftctl_words[i]}") ;;
        --socket) _driftctl_bus+=(--socket "${_driftctl_words[i + 1]}") ;;
        --socket=*) _driftctl_bus+=("${_driftctl_words[i]}") ;;
        esac
    done
}

_driftctl_commands()
{
    "$1" --help 2>/dev/null | sed -n 's/^  \([a-z]\{1,\}\) .*/\1/p'
}

# Names ("Name") of streams, ids ("Id") of jobs: the values of a JSON field.
_driftctl_field()
{ # _driftctl_field PROG LISTCOMMAND FIELD
    "$1" "${_driftctl_bus[@]}" --json "$2" 2>/dev/null |
        sed -n "s/.*\"$3\": *\"\\([A-Za-z0-9._-]*\\)\".*/\\1/p"
}

# The keys of the settings table that apply to a stream or to a job (its scope column).
_driftctl_keys()
{ # _driftctl_keys PROG stream|job
    "$1" keys 2>/dev/null | awk -F' [|] ' -v scope="$2" '
        NR > 2 { key = $1; sub(/^[|] `/, "", key); sub(/`$/, "", key)
                 if ($2 ~ scope) print key }'
}

# The values a key takes, from its type and range in the table.
_driftctl_values()
{ # _driftctl_values PROG KEY
    "$1" keys 2>/dev/null | awk -F' [|] ' -v key="$2" '
        { k = $1; sub(/^[|] `/, "", k); sub(/`$/, "", k) }
        k == key && $3 == "boolean" { print "true"; print "false" }
        k == key && $3 == "string" && $4 !~ /path|bytes/ {
            n = split($4, v, /, | or /); for (i = 1; i <= n; i++) print v[i] }'
}

_driftctl()
{
    local prog=${COMP_WORDS[0]} cur line
    # Words split at blanks only (bash also splits at = and :), up to the cursor.
    line=${COMP_LINE:0:COMP_POINT}
    read -r -a _driftctl_words <<<"$line"
    if [[ $line == *[[:blank:]] ]]; then
        _driftctl_words+=("")
    fi
    cur=${_driftctl_words[-1]}
    _driftctl_bus_args

    # The command and the arguments before the cursor, global options left out.
    local i w command= nargs=0 prev=${_driftctl_words[-2]:-}
    for ((i = 1; i < ${#_driftctl_words[@]} - 1; i++)); do
        w=${_driftctl_words[i]}
        case $w in
        --system | --user | --json | --socket=*) ;;
        --socket) ((i++)) ;;
        *) if [[ -z $command ]]; then command=$w; else ((nargs++)); fi ;;
        esac
    done

    COMPREPLY=()
    if [[ $prev == --socket ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
        return
    fi
    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--system --user --socket --json --help --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_driftctl_commands "$prog")" -- "$cur"))
        fi
        return
    fi

    local scope=stream
    case $command in
    show | prompt | remove | start | stop)
        if ((nargs == 0)); then
            COMPREPLY=($(compgen -W "$(_driftctl_field "$prog" streams Name)" -- "$cur"))
        fi
        return
        ;;
    set)
        if ((nargs == 0)); then
            COMPREPLY=($(compgen -W "$(_driftctl_field "$prog" streams Name)" -- "$cur"))
            return
        fi
        ;;
    create)
        ((nargs == 0)) && return
        ;;
    job | cancel | watch)
        if ((nargs == 0)); then
            COMPREPLY=($(compgen -W "$(_driftctl_field "$prog" jobs Id)" -- "$cur"))
        fi
        return
        ;;
    render)
        scope=job
        case $prev in
        --spec) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --at) return ;;
        esac
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--at --spec --local" -- "$cur"))
            return
        fi
        ;;
    *)
        return
        ;;
    esac

    # KEY=VALUE
    if [[ $cur == *=* ]]; then
        local key=${cur%%=*} value=${cur#*=} prefix=
        # bash replaces only the text after the last word-break character.
        [[ $COMP_WORDBREAKS == *=* ]] || prefix=$key=
        case $key in
        model | audio_model | output)
            COMPREPLY=($(compgen -f -P "$prefix" -- "$value"))
            ;;
        *)
            COMPREPLY=($(compgen -P "$prefix" -W "$(_driftctl_values "$prog" "$key")" -- "$value"))
            ;;
        esac
        return
    fi
    COMPREPLY=($(compgen -S = -W "$(_driftctl_keys "$prog" $scope)" -- "$cur"))
    compopt -o nospace 2>/dev/null
}

complete -F _driftctl driftctl
