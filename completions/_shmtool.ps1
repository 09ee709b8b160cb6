
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'shmtool' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'shmtool'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'shmtool' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never')
            [CompletionResult]::new('--ns', '--ns', [CompletionResultType]::ParameterName, 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Do not fit tables to the terminal: print every column and every name in full')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List every shared-memory object with the processes attached to it')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every shared-memory object with the processes attached to it')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one object in full: every field and every attaching process')
            [CompletionResult]::new('maps', 'maps', [CompletionResultType]::ParameterValue, 'List every mapping of one process, classified, with RSS, PSS and swap')
            [CompletionResult]::new('key', 'key', [CompletionResultType]::ParameterValue, 'Compute the System V key ftok(PATH, PROJ_ID) gives, and find the segment that has it')
            [CompletionResult]::new('dump', 'dump', [CompletionResultType]::ParameterValue, 'Copy live shared memory out, read-only')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Watch live shared memory change, read-only')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove System V segments and POSIX objects, refusing those still in use')
            [CompletionResult]::new('limits', 'limits', [CompletionResultType]::ParameterValue, 'Show the kernel''s shared-memory limits and current use of each')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Bring back an object `rm --backup DIR` saved: same bytes, same name or key (new shmid)')
            [CompletionResult]::new('types', 'types', [CompletionResultType]::ParameterValue, 'List the struct, class and union types a program''s debug information defines')
            [CompletionResult]::new('trace', 'trace', [CompletionResultType]::ParameterValue, 'Log shared-memory lifecycle events machine-wide as they happen (needs root)')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'One object''s whole life, from a `trace --log` file')
            [CompletionResult]::new('locks', 'locks', [CompletionResultType]::ParameterValue, 'Show who waits on whom: threads blocked on locks in shared memory, and their owners')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'shmtool;ls' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Columns to show, separated by commas; `+COLS` adds to the default ones (see --list-columns)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Columns to show, separated by commas; `+COLS` adds to the default ones (see --list-columns)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `prometheus` writes the node_exporter textfile-collector format')
            [CompletionResult]::new('--kind', '--kind', [CompletionResultType]::ParameterName, 'Only objects of these kinds (repeat or separate with commas)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Only objects that these processes map')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only objects owned by this user (name or uid)')
            [CompletionResult]::new('--verdict', '--verdict', [CompletionResultType]::ParameterName, 'Only objects with these verdicts (repeat or separate with commas), with a WHY column')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Only objects whose name matches this glob (`*`, `?`): the name inside /dev/shm, a memfd''s name, a file''s path, or a System V key ("0x…")')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Only objects made more than this long ago (e.g. 30m, 12h, 7d): System V creation or last IPC_SET, a file''s birth time (else its last modification), by the wall clock')
            [CompletionResult]::new('--ipc', '--ipc', [CompletionResultType]::ParameterName, 'Which IPC objects: shared memory only (the default), or all (adding semaphore sets and message queues, which `--kind sem,msg,mqueue` also asks for)')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Sort by this column')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never')
            [CompletionResult]::new('--ns', '--ns', [CompletionResultType]::ParameterName, 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of a table')
            [CompletionResult]::new('--bytes', '--bytes', [CompletionResultType]::ParameterName, 'Print sizes as exact byte counts instead of binary units')
            [CompletionResult]::new('--noheadings', '--noheadings', [CompletionResultType]::ParameterName, 'Print no header line')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Raw output for scripts: one space between cells, spaces and backslashes in cells written as \x20 and \x5c, nothing cut, no colour')
            [CompletionResult]::new('--list-columns', '--list-columns', [CompletionResultType]::ParameterName, 'List the columns -o accepts, with what each shows, and exit')
            [CompletionResult]::new('--stale', '--stale', [CompletionResultType]::ParameterName, 'Only leaked objects (verdict "leaked": what `rm --stale` removes), with a WHY column')
            [CompletionResult]::new('--idle', '--idle', [CompletionResultType]::ParameterName, 'Only idle objects (nobody holds them now, but something alive could come back for them), with a WHY column')
            [CompletionResult]::new('--programs', '--programs', [CompletionResultType]::ParameterName, 'Add a PROGRAM column: the well-known program each /dev/shm object belongs to')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Also list read-only shared file mappings (r--s), such as font and locale caches')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Also list read-only shared file mappings (r--s), such as font and locale caches')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Reverse the sort order')
            [CompletionResult]::new('--reverse', '--reverse', [CompletionResultType]::ParameterName, 'Reverse the sort order')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'List the System V segments of every IPC namespace found under /proc (needs root)')
            [CompletionResult]::new('--per-object', '--per-object', [CompletionResultType]::ParameterName, 'With --format prometheus: also one series per object (labelled kind, id, ipc_ns, key, owner, path); by default only aggregates, whose series do not churn')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no notes on standard error (for cron and timers); errors are still printed')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no notes on standard error (for cron and timers); errors are still printed')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Do not fit tables to the terminal: print every column and every name in full')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'shmtool;list' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Columns to show, separated by commas; `+COLS` adds to the default ones (see --list-columns)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Columns to show, separated by commas; `+COLS` adds to the default ones (see --list-columns)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `prometheus` writes the node_exporter textfile-collector format')
            [CompletionResult]::new('--kind', '--kind', [CompletionResultType]::ParameterName, 'Only objects of these kinds (repeat or separate with commas)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Only objects that these processes map')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only objects owned by this user (name or uid)')
            [CompletionResult]::new('--verdict', '--verdict', [CompletionResultType]::ParameterName, 'Only objects with these verdicts (repeat or separate with commas), with a WHY column')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Only objects whose name matches this glob (`*`, `?`): the name inside /dev/shm, a memfd''s name, a file''s path, or a System V key ("0x…")')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Only objects made more than this long ago (e.g. 30m, 12h, 7d): System V creation or last IPC_SET, a file''s birth time (else its last modification), by the wall clock')
            [CompletionResult]::new('--ipc', '--ipc', [CompletionResultType]::ParameterName, 'Which IPC objects: shared memory only (the default), or all (adding semaphore sets and message queues, which `--kind sem,msg,mqueue` also asks for)')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Sort by this column')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never')
            [CompletionResult]::new('--ns', '--ns', [CompletionResultType]::ParameterName, 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of a table')
            [CompletionResult]::new('--bytes', '--bytes', [CompletionResultType]::ParameterName, 'Print sizes as exact byte counts instead of binary units')
            [CompletionResult]::new('--noheadings', '--noheadings', [CompletionResultType]::ParameterName, 'Print no header line')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Raw output for scripts: one space between cells, spaces and backslashes in cells written as \x20 and \x5c, nothing cut, no colour')
            [CompletionResult]::new('--list-columns', '--list-columns', [CompletionResultType]::ParameterName, 'List the columns -o accepts, with what each shows, and exit')
            [CompletionResult]::new('--stale', '--stale', [CompletionResultType]::ParameterName, 'Only leaked objects (verdict "leaked": what `rm --stale` removes), with a WHY column')
            [CompletionResult]::new('--idle', '--idle', [CompletionResultType]::ParameterName, 'Only idle objects (nobody holds them now, but something alive could come back for them), with a WHY column')
            [CompletionResult]::new('--programs', '--programs', [CompletionResultType]::ParameterName, 'Add a PROGRAM column: the well-known program each /dev/shm object belongs to')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Also list read-only shared file mappings (r--s), such as font and locale caches')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Also list read-only shared file mappings (r--s), such as font and locale caches')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Reverse the sort order')
            [CompletionResult]::new('--reverse', '--reverse', [CompletionResultType]::ParameterName, 'Reverse the sort order')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'List the System V segments of every IPC namespace found under /proc (needs root)')
            [CompletionResult]::new('--per-object', '--per-object', [CompletionResultType]::ParameterName, 'With --format prometheus: also one series per object (labelled kind, id, ipc_ns, key, owner, path); by default only aggregates, whose series do not churn')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no notes on standard error (for cron and timers); errors are still printed')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no notes on standard error (for cron and timers); errors are still printed')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Do not fit tables to the terminal: print every column and every name in full')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'shmtool;show' {
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'A `trace --log` file to take the object''s history from (used when it exists)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never')
            [CompletionResult]::new('--ns', '--ns', [CompletionResultType]::ParameterName, 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of a table')
            [CompletionResult]::new('--bytes', '--bytes', [CompletionResultType]::ParameterName, 'Print sizes as exact byte counts instead of binary units')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Do not fit tables to the terminal: print every column and every name in full')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'shmtool;maps' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never')
            [CompletionResult]::new('--ns', '--ns', [CompletionResultType]::ParameterName, 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of a table')
            [CompletionResult]::new('--bytes', '--bytes', [CompletionResultType]::ParameterName, 'Print sizes as exact byte counts instead of binary units')
            [CompletionResult]::new('--shared', '--shared', [CompletionResultType]::ParameterName, 'Only shared mappings')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Do not fit tables to the terminal: print every column and every name in full')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'shmtool;key' {
            [CompletionResult]::new('--find', '--find', [CompletionResultType]::ParameterName, 'Reverse: which files could have produced this key?')
            [CompletionResult]::new('--in', '--in', [CompletionResultType]::ParameterName, 'With --find: directories to search (repeatable)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never')
            [CompletionResult]::new('--ns', '--ns', [CompletionResultType]::ParameterName, 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of a table')
            [CompletionResult]::new('--bytes', '--bytes', [CompletionResultType]::ParameterName, 'Print sizes as exact byte counts instead of binary units')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Do not fit tables to the terminal: print every column and every name in full')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'shmtool;dump' {
            [CompletionResult]::new('--shmid', '--shmid', [CompletionResultType]::ParameterName, 'A System V segment by shmid')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'A System V segment by key')
            [CompletionResult]::new('--ftok', '--ftok', [CompletionResultType]::ParameterName, 'A System V segment by ftok(PATH, PROJ_ID)')
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'A POSIX object (/dev/shm name) or any file')
            [CompletionResult]::new('--offset', '--offset', [CompletionResultType]::ParameterName, 'Start this many bytes after ADDR or the object''s start (bytes, 0x hex, or k/M/G; at most 2^63-1, the largest file offset)')
            [CompletionResult]::new('--length', '--length', [CompletionResultType]::ParameterName, 'Read at most this many bytes (default: to the end of the mapping or object)')
            [CompletionResult]::new('--layout', '--layout', [CompletionResultType]::ParameterName, 'Decode as a C struct, e.g. ''id:i32,name:char[20],sex:char'', laid out with C alignment')
            [CompletionResult]::new('--layout-repeat', '--layout-repeat', [CompletionResultType]::ParameterName, 'With --layout or --type: decode this many structs one after another (at least 1)')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Decode with the program''s own type, from its debug information (DWARF): ''struct STU'', testmap, ''app::Rec'', ''STU[4]'' (four in a row)')
            [CompletionResult]::new('--debug-file', '--debug-file', [CompletionResultType]::ParameterName, 'With --type: read types from this file (a -g build, or a separate debug file)')
            [CompletionResult]::new('--pid-for-types', '--pid-for-types', [CompletionResultType]::ParameterName, 'With --type: take types from this process''s executable and libraries (for a segment nobody maps now)')
            [CompletionResult]::new('--msqid', '--msqid', [CompletionResultType]::ParameterName, 'A System V message queue: copies of its messages, oldest first, each with its type. The queue keeps them (msgrcv MSG_COPY, which needs a kernel with CONFIG_CHECKPOINT_RESTORE); nothing about the queue changes')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: hex (the default, on a terminal or not), raw bytes, or text (printable runs)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to this new file (mode 0600) instead of standard output; see --force')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write to this new file (mode 0600) instead of standard output; see --force')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never')
            [CompletionResult]::new('--ns', '--ns', [CompletionResultType]::ParameterName, 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Allow raw bytes to a terminal; with -o, overwrite an existing file, follow a symlink, or write into /dev/shm. Without it, -o only creates a new file (mode 0600, O_EXCL, O_NOFOLLOW). The object being dumped is never written')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines: one {address, hex} object per 16-byte row, or with --layout one {index, address, fields, hints} object per record')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Do not fit tables to the terminal: print every column and every name in full')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'shmtool;watch' {
            [CompletionResult]::new('--shmid', '--shmid', [CompletionResultType]::ParameterName, 'A System V segment by shmid')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'A System V segment by key')
            [CompletionResult]::new('--ftok', '--ftok', [CompletionResultType]::ParameterName, 'A System V segment by ftok(PATH, PROJ_ID)')
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'A POSIX object (/dev/shm name) or any file')
            [CompletionResult]::new('--offset', '--offset', [CompletionResultType]::ParameterName, 'Start this many bytes after ADDR or the object''s start (bytes, 0x hex, or k/M/G; at most 2^63-1, the largest file offset)')
            [CompletionResult]::new('--length', '--length', [CompletionResultType]::ParameterName, 'Read at most this many bytes (default: to the end of the mapping or object)')
            [CompletionResult]::new('--layout', '--layout', [CompletionResultType]::ParameterName, 'Decode as a C struct, e.g. ''id:i32,name:char[20],sex:char'', laid out with C alignment')
            [CompletionResult]::new('--layout-repeat', '--layout-repeat', [CompletionResultType]::ParameterName, 'With --layout or --type: decode this many structs one after another (at least 1)')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Decode with the program''s own type, from its debug information (DWARF): ''struct STU'', testmap, ''app::Rec'', ''STU[4]'' (four in a row)')
            [CompletionResult]::new('--debug-file', '--debug-file', [CompletionResultType]::ParameterName, 'With --type: read types from this file (a -g build, or a separate debug file)')
            [CompletionResult]::new('--pid-for-types', '--pid-for-types', [CompletionResultType]::ParameterName, 'With --type: take types from this process''s executable and libraries (for a segment nobody maps now)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Time between refreshes, e.g. 1s, 250ms (at least 10ms)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between refreshes, e.g. 1s, 250ms (at least 10ms)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Stop after this many refreshes')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after this many refreshes')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never')
            [CompletionResult]::new('--ns', '--ns', [CompletionResultType]::ParameterName, 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines: one object per refresh that changed something')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Do not fit tables to the terminal: print every column and every name in full')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'shmtool;rm' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Remove the segment with this key (repeatable)')
            [CompletionResult]::new('--posix', '--posix', [CompletionResultType]::ParameterName, 'Remove this POSIX object: a plain name inside /dev/shm (repeatable)')
            [CompletionResult]::new('--sem', '--sem', [CompletionResultType]::ParameterName, 'Remove this System V semaphore set (repeatable); refused while a process that last operated on it lives or waits on it, unless --force')
            [CompletionResult]::new('--msg', '--msg', [CompletionResultType]::ParameterName, 'Remove this System V message queue (repeatable); refused while its last sender or receiver lives, unless --force')
            [CompletionResult]::new('--mqueue', '--mqueue', [CompletionResultType]::ParameterName, 'Remove this POSIX message queue (`/NAME` or `NAME`, repeatable); refused while a process holds it open, unless --force')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'With --stale: only objects owned by this user (name or uid)')
            [CompletionResult]::new('--kind', '--kind', [CompletionResultType]::ParameterName, 'With --stale: only objects of these kinds (repeat or separate with commas)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Only objects whose name matches this glob (`*`, `?`): the name inside /dev/shm, a memfd''s name, a file''s path, or a System V key ("0x…")')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Only objects made more than this long ago (e.g. 30m, 12h, 7d): System V creation or last IPC_SET, a file''s birth time (else its last modification), by the wall clock')
            [CompletionResult]::new('--backup', '--backup', [CompletionResultType]::ParameterName, 'Save each object''s bytes and metadata in this directory before removing it (`shmtool restore FILE` brings it back)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never')
            [CompletionResult]::new('--ns', '--ns', [CompletionResultType]::ParameterName, 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by')
            [CompletionResult]::new('--stale', '--stale', [CompletionResultType]::ParameterName, 'Remove every object `ls --stale` lists (verdict "leaked"), re-checking each right before')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Show what would be removed; remove nothing')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be removed; remove nothing')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Remove segments that still have attachers (they go when the last one detaches)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Remove segments that still have attachers (they go when the last one detaches)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the summary as JSON')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Do not fit tables to the terminal: print every column and every name in full')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'shmtool;limits' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never')
            [CompletionResult]::new('--ns', '--ns', [CompletionResultType]::ParameterName, 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of a table')
            [CompletionResult]::new('--bytes', '--bytes', [CompletionResultType]::ParameterName, 'Print sizes as exact byte counts instead of binary units')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Also each container''s own /dev/shm (every mount namespace''s, once per device), side by side with the host''s (needs root)')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Do not fit tables to the terminal: print every column and every name in full')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'shmtool;restore' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never')
            [CompletionResult]::new('--ns', '--ns', [CompletionResultType]::ParameterName, 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print what was restored as JSON')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Do not fit tables to the terminal: print every column and every name in full')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'shmtool;types' {
            [CompletionResult]::new('--debug-file', '--debug-file', [CompletionResultType]::ParameterName, 'Read types from this file instead (a -g build, or a separate debug file)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never')
            [CompletionResult]::new('--ns', '--ns', [CompletionResultType]::ParameterName, 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Also list the standard and C libraries'' own types (std::…, _IO_FILE, …)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Also list the standard and C libraries'' own types (std::…, _IO_FILE, …)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON array of {name, kind, size, members, file}')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Do not fit tables to the terminal: print every column and every name in full')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'shmtool;trace' {
            [CompletionResult]::new('--kind', '--kind', [CompletionResultType]::ParameterName, 'Only objects of these kinds (repeat or separate with commas)')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'Only events of these kinds (repeat or separate with commas)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Only calls made by these processes')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only calls made by this user (name or uid)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Only objects whose path or name matches this glob (`*`, `?`), e.g. ''psm_*''')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Only the System V segment with this key')
            [CompletionResult]::new('--shmid', '--shmid', [CompletionResultType]::ParameterName, 'Only the System V segment with this shmid')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop after this long, e.g. 30s, 5m')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Stop after this many events (after filtering)')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after this many events (after filtering)')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Also append every event shown, as JSON Lines, to this file (read by `history` and `show`)')
            [CompletionResult]::new('--log-size', '--log-size', [CompletionResultType]::ParameterName, 'Rotate the log when it would grow past this size (FILE becomes FILE.1, and so on)')
            [CompletionResult]::new('--log-keep', '--log-keep', [CompletionResultType]::ParameterName, 'How many rotated logs to keep')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never')
            [CompletionResult]::new('--ns', '--ns', [CompletionResultType]::ParameterName, 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines: one object per event')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no events on standard output (with --log, for a service)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no events on standard output (with --log, for a service)')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Do not fit tables to the terminal: print every column and every name in full')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'shmtool;history' {
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'The log `trace --log` writes')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never')
            [CompletionResult]::new('--ns', '--ns', [CompletionResultType]::ParameterName, 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines, as the log holds them')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Do not fit tables to the terminal: print every column and every name in full')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'shmtool;locks' {
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Only waits of these processes, or on locks these processes hold (repeat or separate with commas)')
            [CompletionResult]::new('--kind', '--kind', [CompletionResultType]::ParameterName, 'Only locks in objects of these kinds (repeat or separate with commas)')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'The type laid out at the start of the objects (''struct shared'', ''slot[16]''): name the member that holds each lock from the waiter''s debug information (DWARF)')
            [CompletionResult]::new('--debug-file', '--debug-file', [CompletionResultType]::ParameterName, 'Read types from this file (a -g build, or a separate debug file) instead of each waiter''s own program')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never')
            [CompletionResult]::new('--ns', '--ns', [CompletionResultType]::ParameterName, 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of a table')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Do not fit tables to the terminal: print every column and every name in full')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'shmtool;help' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List every shared-memory object with the processes attached to it')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one object in full: every field and every attaching process')
            [CompletionResult]::new('maps', 'maps', [CompletionResultType]::ParameterValue, 'List every mapping of one process, classified, with RSS, PSS and swap')
            [CompletionResult]::new('key', 'key', [CompletionResultType]::ParameterValue, 'Compute the System V key ftok(PATH, PROJ_ID) gives, and find the segment that has it')
            [CompletionResult]::new('dump', 'dump', [CompletionResultType]::ParameterValue, 'Copy live shared memory out, read-only')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Watch live shared memory change, read-only')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove System V segments and POSIX objects, refusing those still in use')
            [CompletionResult]::new('limits', 'limits', [CompletionResultType]::ParameterValue, 'Show the kernel''s shared-memory limits and current use of each')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Bring back an object `rm --backup DIR` saved: same bytes, same name or key (new shmid)')
            [CompletionResult]::new('types', 'types', [CompletionResultType]::ParameterValue, 'List the struct, class and union types a program''s debug information defines')
            [CompletionResult]::new('trace', 'trace', [CompletionResultType]::ParameterValue, 'Log shared-memory lifecycle events machine-wide as they happen (needs root)')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'One object''s whole life, from a `trace --log` file')
            [CompletionResult]::new('locks', 'locks', [CompletionResultType]::ParameterValue, 'Show who waits on whom: threads blocked on locks in shared memory, and their owners')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'shmtool;help;ls' {
            break
        }
        'shmtool;help;show' {
            break
        }
        'shmtool;help;maps' {
            break
        }
        'shmtool;help;key' {
            break
        }
        'shmtool;help;dump' {
            break
        }
        'shmtool;help;watch' {
            break
        }
        'shmtool;help;rm' {
            break
        }
        'shmtool;help;limits' {
            break
        }
        'shmtool;help;restore' {
            break
        }
        'shmtool;help;types' {
            break
        }
        'shmtool;help;trace' {
            break
        }
        'shmtool;help;history' {
            break
        }
        'shmtool;help;locks' {
            break
        }
        'shmtool;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
