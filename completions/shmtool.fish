# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_shmtool_global_optspecs
    string join \n color= ns= wide h/help V/version
end

function __fish_shmtool_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_shmtool_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_shmtool_using_subcommand
    set -l cmd (__fish_shmtool_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c shmtool -n "__fish_shmtool_needs_command" -l color -d 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shmtool -n "__fish_shmtool_needs_command" -l ns -d 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container\'s segments, by the ids it knows them by' -r
complete -c shmtool -n "__fish_shmtool_needs_command" -l wide -d 'Do not fit tables to the terminal: print every column and every name in full'
complete -c shmtool -n "__fish_shmtool_needs_command" -s h -l help -d 'Print help'
complete -c shmtool -n "__fish_shmtool_needs_command" -s V -l version -d 'Print version'
complete -c shmtool -n "__fish_shmtool_needs_command" -f -a "ls" -d 'List every shared-memory object with the processes attached to it'
complete -c shmtool -n "__fish_shmtool_needs_command" -f -a "list" -d 'List every shared-memory object with the processes attached to it'
complete -c shmtool -n "__fish_shmtool_needs_command" -f -a "show" -d 'Show one object in full: every field and every attaching process'
complete -c shmtool -n "__fish_shmtool_needs_command" -f -a "maps" -d 'List every mapping of one process, classified, with RSS, PSS and swap'
complete -c shmtool -n "__fish_shmtool_needs_command" -f -a "key" -d 'Compute the System V key ftok(PATH, PROJ_ID) gives, and find the segment that has it'
complete -c shmtool -n "__fish_shmtool_needs_command" -f -a "dump" -d 'Copy live shared memory out, read-only'
complete -c shmtool -n "__fish_shmtool_needs_command" -f -a "watch" -d 'Watch live shared memory change, read-only'
complete -c shmtool -n "__fish_shmtool_needs_command" -f -a "rm" -d 'Remove System V segments and POSIX objects, refusing those still in use'
complete -c shmtool -n "__fish_shmtool_needs_command" -f -a "limits" -d 'Show the kernel\'s shared-memory limits and current use of each'
complete -c shmtool -n "__fish_shmtool_needs_command" -f -a "restore" -d 'Bring back an object `rm --backup DIR` saved: same bytes, same name or key (new shmid)'
complete -c shmtool -n "__fish_shmtool_needs_command" -f -a "types" -d 'List the struct, class and union types a program\'s debug information defines'
complete -c shmtool -n "__fish_shmtool_needs_command" -f -a "trace" -d 'Log shared-memory lifecycle events machine-wide as they happen (needs root)'
complete -c shmtool -n "__fish_shmtool_needs_command" -f -a "history" -d 'One object\'s whole life, from a `trace --log` file'
complete -c shmtool -n "__fish_shmtool_needs_command" -f -a "locks" -d 'Show who waits on whom: threads blocked on locks in shared memory, and their owners'
complete -c shmtool -n "__fish_shmtool_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -s o -l output -d 'Columns to show, separated by commas; `+COLS` adds to the default ones (see --list-columns)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l format -d 'Output format; `prometheus` writes the node_exporter textfile-collector format' -r -f -a "table\t''
json\t''
prometheus\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l kind -d 'Only objects of these kinds (repeat or separate with commas)' -r -f -a "sysv\t''
posix\t''
memfd\t''
anon\t''
file\t''
deleted\t''
psem\t'POSIX named semaphores (/dev/shm/sem.NAME)'
sem\t'System V semaphore sets'
msg\t'System V message queues'
mqueue\t'POSIX message queues'"
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l pid -d 'Only objects that these processes map' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l user -d 'Only objects owned by this user (name or uid)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l verdict -d 'Only objects with these verdicts (repeat or separate with commas), with a WHY column' -r -f -a "in-use\t'Some process maps it, holds it open or is attached'
idle\t'Nobody holds it now, but something alive could come back for it'
leaked\t'Nobody holds it and nothing alive can or will (what --stale lists and removes)'
unknown\t'shmtool could not see enough to tell (processes it cannot read, pids it cannot place)'"
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l name -d 'Only objects whose name matches this glob (`*`, `?`): the name inside /dev/shm, a memfd\'s name, a file\'s path, or a System V key ("0x…")' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l older-than -d 'Only objects made more than this long ago (e.g. 30m, 12h, 7d): System V creation or last IPC_SET, a file\'s birth time (else its last modification), by the wall clock' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l ipc -d 'Which IPC objects: shared memory only (the default), or all (adding semaphore sets and message queues, which `--kind sem,msg,mqueue` also asks for)' -r -f -a "shm\t'Shared memory only'
all\t'Shared memory, semaphore sets, and System V and POSIX message queues'"
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l sort -d 'Sort by this column' -r -f -a "kind\t''
id\t''
key\t''
size\t''
rss\t''
owner\t''
attachers\t''
age\t''
path\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l color -d 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l ns -d 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container\'s segments, by the ids it knows them by' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l json -d 'Print JSON instead of a table'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l bytes -d 'Print sizes as exact byte counts instead of binary units'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l noheadings -d 'Print no header line'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l raw -d 'Raw output for scripts: one space between cells, spaces and backslashes in cells written as \\x20 and \\x5c, nothing cut, no colour'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l list-columns -d 'List the columns -o accepts, with what each shows, and exit'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l stale -d 'Only leaked objects (verdict "leaked": what `rm --stale` removes), with a WHY column'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l idle -d 'Only idle objects (nobody holds them now, but something alive could come back for them), with a WHY column'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l programs -d 'Add a PROGRAM column: the well-known program each /dev/shm object belongs to'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -s a -l all -d 'Also list read-only shared file mappings (r--s), such as font and locale caches'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -s r -l reverse -d 'Reverse the sort order'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l all-namespaces -d 'List the System V segments of every IPC namespace found under /proc (needs root)'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l per-object -d 'With --format prometheus: also one series per object (labelled kind, id, ipc_ns, key, owner, path); by default only aggregates, whose series do not churn'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -s q -l quiet -d 'Print no notes on standard error (for cron and timers); errors are still printed'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -l wide -d 'Do not fit tables to the terminal: print every column and every name in full'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shmtool -n "__fish_shmtool_using_subcommand ls" -s V -l version -d 'Print version'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -s o -l output -d 'Columns to show, separated by commas; `+COLS` adds to the default ones (see --list-columns)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l format -d 'Output format; `prometheus` writes the node_exporter textfile-collector format' -r -f -a "table\t''
json\t''
prometheus\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l kind -d 'Only objects of these kinds (repeat or separate with commas)' -r -f -a "sysv\t''
posix\t''
memfd\t''
anon\t''
file\t''
deleted\t''
psem\t'POSIX named semaphores (/dev/shm/sem.NAME)'
sem\t'System V semaphore sets'
msg\t'System V message queues'
mqueue\t'POSIX message queues'"
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l pid -d 'Only objects that these processes map' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l user -d 'Only objects owned by this user (name or uid)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l verdict -d 'Only objects with these verdicts (repeat or separate with commas), with a WHY column' -r -f -a "in-use\t'Some process maps it, holds it open or is attached'
idle\t'Nobody holds it now, but something alive could come back for it'
leaked\t'Nobody holds it and nothing alive can or will (what --stale lists and removes)'
unknown\t'shmtool could not see enough to tell (processes it cannot read, pids it cannot place)'"
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l name -d 'Only objects whose name matches this glob (`*`, `?`): the name inside /dev/shm, a memfd\'s name, a file\'s path, or a System V key ("0x…")' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l older-than -d 'Only objects made more than this long ago (e.g. 30m, 12h, 7d): System V creation or last IPC_SET, a file\'s birth time (else its last modification), by the wall clock' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l ipc -d 'Which IPC objects: shared memory only (the default), or all (adding semaphore sets and message queues, which `--kind sem,msg,mqueue` also asks for)' -r -f -a "shm\t'Shared memory only'
all\t'Shared memory, semaphore sets, and System V and POSIX message queues'"
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l sort -d 'Sort by this column' -r -f -a "kind\t''
id\t''
key\t''
size\t''
rss\t''
owner\t''
attachers\t''
age\t''
path\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l color -d 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l ns -d 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container\'s segments, by the ids it knows them by' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l json -d 'Print JSON instead of a table'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l bytes -d 'Print sizes as exact byte counts instead of binary units'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l noheadings -d 'Print no header line'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l raw -d 'Raw output for scripts: one space between cells, spaces and backslashes in cells written as \\x20 and \\x5c, nothing cut, no colour'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l list-columns -d 'List the columns -o accepts, with what each shows, and exit'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l stale -d 'Only leaked objects (verdict "leaked": what `rm --stale` removes), with a WHY column'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l idle -d 'Only idle objects (nobody holds them now, but something alive could come back for them), with a WHY column'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l programs -d 'Add a PROGRAM column: the well-known program each /dev/shm object belongs to'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -s a -l all -d 'Also list read-only shared file mappings (r--s), such as font and locale caches'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -s r -l reverse -d 'Reverse the sort order'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l all-namespaces -d 'List the System V segments of every IPC namespace found under /proc (needs root)'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l per-object -d 'With --format prometheus: also one series per object (labelled kind, id, ipc_ns, key, owner, path); by default only aggregates, whose series do not churn'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -s q -l quiet -d 'Print no notes on standard error (for cron and timers); errors are still printed'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -l wide -d 'Do not fit tables to the terminal: print every column and every name in full'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shmtool -n "__fish_shmtool_using_subcommand list" -s V -l version -d 'Print version'
complete -c shmtool -n "__fish_shmtool_using_subcommand show" -l log -d 'A `trace --log` file to take the object\'s history from (used when it exists)' -r -F
complete -c shmtool -n "__fish_shmtool_using_subcommand show" -l color -d 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand show" -l ns -d 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container\'s segments, by the ids it knows them by' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand show" -l json -d 'Print JSON instead of a table'
complete -c shmtool -n "__fish_shmtool_using_subcommand show" -l bytes -d 'Print sizes as exact byte counts instead of binary units'
complete -c shmtool -n "__fish_shmtool_using_subcommand show" -l wide -d 'Do not fit tables to the terminal: print every column and every name in full'
complete -c shmtool -n "__fish_shmtool_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shmtool -n "__fish_shmtool_using_subcommand show" -s V -l version -d 'Print version'
complete -c shmtool -n "__fish_shmtool_using_subcommand maps" -l color -d 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand maps" -l ns -d 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container\'s segments, by the ids it knows them by' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand maps" -l json -d 'Print JSON instead of a table'
complete -c shmtool -n "__fish_shmtool_using_subcommand maps" -l bytes -d 'Print sizes as exact byte counts instead of binary units'
complete -c shmtool -n "__fish_shmtool_using_subcommand maps" -l shared -d 'Only shared mappings'
complete -c shmtool -n "__fish_shmtool_using_subcommand maps" -l wide -d 'Do not fit tables to the terminal: print every column and every name in full'
complete -c shmtool -n "__fish_shmtool_using_subcommand maps" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shmtool -n "__fish_shmtool_using_subcommand maps" -s V -l version -d 'Print version'
complete -c shmtool -n "__fish_shmtool_using_subcommand key" -l find -d 'Reverse: which files could have produced this key?' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand key" -l in -d 'With --find: directories to search (repeatable)' -r -F
complete -c shmtool -n "__fish_shmtool_using_subcommand key" -l color -d 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand key" -l ns -d 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container\'s segments, by the ids it knows them by' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand key" -l json -d 'Print JSON instead of a table'
complete -c shmtool -n "__fish_shmtool_using_subcommand key" -l bytes -d 'Print sizes as exact byte counts instead of binary units'
complete -c shmtool -n "__fish_shmtool_using_subcommand key" -l wide -d 'Do not fit tables to the terminal: print every column and every name in full'
complete -c shmtool -n "__fish_shmtool_using_subcommand key" -s h -l help -d 'Print help'
complete -c shmtool -n "__fish_shmtool_using_subcommand key" -s V -l version -d 'Print version'
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l shmid -d 'A System V segment by shmid' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l key -d 'A System V segment by key' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l ftok -d 'A System V segment by ftok(PATH, PROJ_ID)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l path -d 'A POSIX object (/dev/shm name) or any file' -r -F
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l offset -d 'Start this many bytes after ADDR or the object\'s start (bytes, 0x hex, or k/M/G; at most 2^63-1, the largest file offset)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l length -d 'Read at most this many bytes (default: to the end of the mapping or object)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l layout -d 'Decode as a C struct, e.g. \'id:i32,name:char[20],sex:char\', laid out with C alignment' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l layout-repeat -d 'With --layout or --type: decode this many structs one after another (at least 1)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l type -d 'Decode with the program\'s own type, from its debug information (DWARF): \'struct STU\', testmap, \'app::Rec\', \'STU[4]\' (four in a row)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l debug-file -d 'With --type: read types from this file (a -g build, or a separate debug file)' -r -F
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l pid-for-types -d 'With --type: take types from this process\'s executable and libraries (for a segment nobody maps now)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l msqid -d 'A System V message queue: copies of its messages, oldest first, each with its type. The queue keeps them (msgrcv MSG_COPY, which needs a kernel with CONFIG_CHECKPOINT_RESTORE); nothing about the queue changes' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l format -d 'Output format: hex (the default, on a terminal or not), raw bytes, or text (printable runs)' -r -f -a "hex\t''
raw\t''
text\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -s o -l output -d 'Write to this new file (mode 0600) instead of standard output; see --force' -r -F
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l color -d 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l ns -d 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container\'s segments, by the ids it knows them by' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l force -d 'Allow raw bytes to a terminal; with -o, overwrite an existing file, follow a symlink, or write into /dev/shm. Without it, -o only creates a new file (mode 0600, O_EXCL, O_NOFOLLOW). The object being dumped is never written'
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l json -d 'Print JSON Lines: one {address, hex} object per 16-byte row, or with --layout one {index, address, fields, hints} object per record'
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -l wide -d 'Do not fit tables to the terminal: print every column and every name in full'
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shmtool -n "__fish_shmtool_using_subcommand dump" -s V -l version -d 'Print version'
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -l shmid -d 'A System V segment by shmid' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -l key -d 'A System V segment by key' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -l ftok -d 'A System V segment by ftok(PATH, PROJ_ID)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -l path -d 'A POSIX object (/dev/shm name) or any file' -r -F
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -l offset -d 'Start this many bytes after ADDR or the object\'s start (bytes, 0x hex, or k/M/G; at most 2^63-1, the largest file offset)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -l length -d 'Read at most this many bytes (default: to the end of the mapping or object)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -l layout -d 'Decode as a C struct, e.g. \'id:i32,name:char[20],sex:char\', laid out with C alignment' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -l layout-repeat -d 'With --layout or --type: decode this many structs one after another (at least 1)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -l type -d 'Decode with the program\'s own type, from its debug information (DWARF): \'struct STU\', testmap, \'app::Rec\', \'STU[4]\' (four in a row)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -l debug-file -d 'With --type: read types from this file (a -g build, or a separate debug file)' -r -F
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -l pid-for-types -d 'With --type: take types from this process\'s executable and libraries (for a segment nobody maps now)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -s n -l interval -d 'Time between refreshes, e.g. 1s, 250ms (at least 10ms)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -s c -l count -d 'Stop after this many refreshes' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -l color -d 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -l ns -d 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container\'s segments, by the ids it knows them by' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -l json -d 'Print JSON Lines: one object per refresh that changed something'
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -l wide -d 'Do not fit tables to the terminal: print every column and every name in full'
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shmtool -n "__fish_shmtool_using_subcommand watch" -s V -l version -d 'Print version'
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -l key -d 'Remove the segment with this key (repeatable)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -l posix -d 'Remove this POSIX object: a plain name inside /dev/shm (repeatable)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -l sem -d 'Remove this System V semaphore set (repeatable); refused while a process that last operated on it lives or waits on it, unless --force' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -l msg -d 'Remove this System V message queue (repeatable); refused while its last sender or receiver lives, unless --force' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -l mqueue -d 'Remove this POSIX message queue (`/NAME` or `NAME`, repeatable); refused while a process holds it open, unless --force' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -l user -d 'With --stale: only objects owned by this user (name or uid)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -l kind -d 'With --stale: only objects of these kinds (repeat or separate with commas)' -r -f -a "sysv\t''
posix\t''
memfd\t''
anon\t''
file\t''
deleted\t''
psem\t'POSIX named semaphores (/dev/shm/sem.NAME)'
sem\t'System V semaphore sets'
msg\t'System V message queues'
mqueue\t'POSIX message queues'"
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -l name -d 'Only objects whose name matches this glob (`*`, `?`): the name inside /dev/shm, a memfd\'s name, a file\'s path, or a System V key ("0x…")' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -l older-than -d 'Only objects made more than this long ago (e.g. 30m, 12h, 7d): System V creation or last IPC_SET, a file\'s birth time (else its last modification), by the wall clock' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -l backup -d 'Save each object\'s bytes and metadata in this directory before removing it (`shmtool restore FILE` brings it back)' -r -F
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -l color -d 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -l ns -d 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container\'s segments, by the ids it knows them by' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -l stale -d 'Remove every object `ls --stale` lists (verdict "leaked"), re-checking each right before'
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -s n -l dry-run -d 'Show what would be removed; remove nothing'
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -s f -l force -d 'Remove segments that still have attachers (they go when the last one detaches)'
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -s y -l yes -d 'Do not ask for confirmation'
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -l json -d 'Print the summary as JSON'
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -l wide -d 'Do not fit tables to the terminal: print every column and every name in full'
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shmtool -n "__fish_shmtool_using_subcommand rm" -s V -l version -d 'Print version'
complete -c shmtool -n "__fish_shmtool_using_subcommand limits" -l color -d 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand limits" -l ns -d 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container\'s segments, by the ids it knows them by' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand limits" -l json -d 'Print JSON instead of a table'
complete -c shmtool -n "__fish_shmtool_using_subcommand limits" -l bytes -d 'Print sizes as exact byte counts instead of binary units'
complete -c shmtool -n "__fish_shmtool_using_subcommand limits" -l all-namespaces -d 'Also each container\'s own /dev/shm (every mount namespace\'s, once per device), side by side with the host\'s (needs root)'
complete -c shmtool -n "__fish_shmtool_using_subcommand limits" -l wide -d 'Do not fit tables to the terminal: print every column and every name in full'
complete -c shmtool -n "__fish_shmtool_using_subcommand limits" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shmtool -n "__fish_shmtool_using_subcommand limits" -s V -l version -d 'Print version'
complete -c shmtool -n "__fish_shmtool_using_subcommand restore" -l color -d 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand restore" -l ns -d 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container\'s segments, by the ids it knows them by' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand restore" -l json -d 'Print what was restored as JSON'
complete -c shmtool -n "__fish_shmtool_using_subcommand restore" -l wide -d 'Do not fit tables to the terminal: print every column and every name in full'
complete -c shmtool -n "__fish_shmtool_using_subcommand restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shmtool -n "__fish_shmtool_using_subcommand restore" -s V -l version -d 'Print version'
complete -c shmtool -n "__fish_shmtool_using_subcommand types" -l debug-file -d 'Read types from this file instead (a -g build, or a separate debug file)' -r -F
complete -c shmtool -n "__fish_shmtool_using_subcommand types" -l color -d 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand types" -l ns -d 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container\'s segments, by the ids it knows them by' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand types" -s a -l all -d 'Also list the standard and C libraries\' own types (std::…, _IO_FILE, …)'
complete -c shmtool -n "__fish_shmtool_using_subcommand types" -l json -d 'Print a JSON array of {name, kind, size, members, file}'
complete -c shmtool -n "__fish_shmtool_using_subcommand types" -l wide -d 'Do not fit tables to the terminal: print every column and every name in full'
complete -c shmtool -n "__fish_shmtool_using_subcommand types" -s h -l help -d 'Print help'
complete -c shmtool -n "__fish_shmtool_using_subcommand types" -s V -l version -d 'Print version'
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -l kind -d 'Only objects of these kinds (repeat or separate with commas)' -r -f -a "sysv\t''
posix\t''
psem\t''
memfd\t''
file\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -l event -d 'Only events of these kinds (repeat or separate with commas)' -r -f -a "create\t'shmget or shm_open made a new object'
open\t'shmget or shm_open found an existing one'
attach\t'shmat'
detach\t'shmdt'
remove\t'shmctl(IPC_RMID)'
set\t'shmctl(IPC_SET)'
unlink\t'A /dev/shm name removed (shm_unlink, sem_unlink, rm)'
memfd\t'memfd_create'
mmap\t'mmap(MAP_SHARED) of a shared-memory fd'
resize\t'ftruncate of a shared-memory fd'
munmap\t'munmap of a mapping an mmap event showed, from its start'
exit\t'A process exited still holding the object'"
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -l pid -d 'Only calls made by these processes' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -l user -d 'Only calls made by this user (name or uid)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -l name -d 'Only objects whose path or name matches this glob (`*`, `?`), e.g. \'psm_*\'' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -l key -d 'Only the System V segment with this key' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -l shmid -d 'Only the System V segment with this shmid' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -l duration -d 'Stop after this long, e.g. 30s, 5m' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -s c -l count -d 'Stop after this many events (after filtering)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -l log -d 'Also append every event shown, as JSON Lines, to this file (read by `history` and `show`)' -r -F
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -l log-size -d 'Rotate the log when it would grow past this size (FILE becomes FILE.1, and so on)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -l log-keep -d 'How many rotated logs to keep' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -l color -d 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -l ns -d 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container\'s segments, by the ids it knows them by' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -l json -d 'Print JSON Lines: one object per event'
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -s q -l quiet -d 'Print no events on standard output (with --log, for a service)'
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -l wide -d 'Do not fit tables to the terminal: print every column and every name in full'
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shmtool -n "__fish_shmtool_using_subcommand trace" -s V -l version -d 'Print version'
complete -c shmtool -n "__fish_shmtool_using_subcommand history" -l log -d 'The log `trace --log` writes' -r -F
complete -c shmtool -n "__fish_shmtool_using_subcommand history" -l color -d 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand history" -l ns -d 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container\'s segments, by the ids it knows them by' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand history" -l json -d 'Print JSON Lines, as the log holds them'
complete -c shmtool -n "__fish_shmtool_using_subcommand history" -l wide -d 'Do not fit tables to the terminal: print every column and every name in full'
complete -c shmtool -n "__fish_shmtool_using_subcommand history" -s h -l help -d 'Print help'
complete -c shmtool -n "__fish_shmtool_using_subcommand history" -s V -l version -d 'Print version'
complete -c shmtool -n "__fish_shmtool_using_subcommand locks" -l pid -d 'Only waits of these processes, or on locks these processes hold (repeat or separate with commas)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand locks" -l kind -d 'Only locks in objects of these kinds (repeat or separate with commas)' -r -f -a "sysv\t''
posix\t''
psem\t''
memfd\t''
anon\t''
file\t''
deleted\t''
sem\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand locks" -l type -d 'The type laid out at the start of the objects (\'struct shared\', \'slot[16]\'): name the member that holds each lock from the waiter\'s debug information (DWARF)' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand locks" -l debug-file -d 'Read types from this file (a -g build, or a separate debug file) instead of each waiter\'s own program' -r -F
complete -c shmtool -n "__fish_shmtool_using_subcommand locks" -l color -d 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shmtool -n "__fish_shmtool_using_subcommand locks" -l ns -d 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container\'s segments, by the ids it knows them by' -r
complete -c shmtool -n "__fish_shmtool_using_subcommand locks" -l json -d 'Print JSON instead of a table'
complete -c shmtool -n "__fish_shmtool_using_subcommand locks" -l wide -d 'Do not fit tables to the terminal: print every column and every name in full'
complete -c shmtool -n "__fish_shmtool_using_subcommand locks" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shmtool -n "__fish_shmtool_using_subcommand locks" -s V -l version -d 'Print version'
complete -c shmtool -n "__fish_shmtool_using_subcommand help; and not __fish_seen_subcommand_from ls show maps key dump watch rm limits restore types trace history locks help" -f -a "ls" -d 'List every shared-memory object with the processes attached to it'
complete -c shmtool -n "__fish_shmtool_using_subcommand help; and not __fish_seen_subcommand_from ls show maps key dump watch rm limits restore types trace history locks help" -f -a "show" -d 'Show one object in full: every field and every attaching process'
complete -c shmtool -n "__fish_shmtool_using_subcommand help; and not __fish_seen_subcommand_from ls show maps key dump watch rm limits restore types trace history locks help" -f -a "maps" -d 'List every mapping of one process, classified, with RSS, PSS and swap'
complete -c shmtool -n "__fish_shmtool_using_subcommand help; and not __fish_seen_subcommand_from ls show maps key dump watch rm limits restore types trace history locks help" -f -a "key" -d 'Compute the System V key ftok(PATH, PROJ_ID) gives, and find the segment that has it'
complete -c shmtool -n "__fish_shmtool_using_subcommand help; and not __fish_seen_subcommand_from ls show maps key dump watch rm limits restore types trace history locks help" -f -a "dump" -d 'Copy live shared memory out, read-only'
complete -c shmtool -n "__fish_shmtool_using_subcommand help; and not __fish_seen_subcommand_from ls show maps key dump watch rm limits restore types trace history locks help" -f -a "watch" -d 'Watch live shared memory change, read-only'
complete -c shmtool -n "__fish_shmtool_using_subcommand help; and not __fish_seen_subcommand_from ls show maps key dump watch rm limits restore types trace history locks help" -f -a "rm" -d 'Remove System V segments and POSIX objects, refusing those still in use'
complete -c shmtool -n "__fish_shmtool_using_subcommand help; and not __fish_seen_subcommand_from ls show maps key dump watch rm limits restore types trace history locks help" -f -a "limits" -d 'Show the kernel\'s shared-memory limits and current use of each'
complete -c shmtool -n "__fish_shmtool_using_subcommand help; and not __fish_seen_subcommand_from ls show maps key dump watch rm limits restore types trace history locks help" -f -a "restore" -d 'Bring back an object `rm --backup DIR` saved: same bytes, same name or key (new shmid)'
complete -c shmtool -n "__fish_shmtool_using_subcommand help; and not __fish_seen_subcommand_from ls show maps key dump watch rm limits restore types trace history locks help" -f -a "types" -d 'List the struct, class and union types a program\'s debug information defines'
complete -c shmtool -n "__fish_shmtool_using_subcommand help; and not __fish_seen_subcommand_from ls show maps key dump watch rm limits restore types trace history locks help" -f -a "trace" -d 'Log shared-memory lifecycle events machine-wide as they happen (needs root)'
complete -c shmtool -n "__fish_shmtool_using_subcommand help; and not __fish_seen_subcommand_from ls show maps key dump watch rm limits restore types trace history locks help" -f -a "history" -d 'One object\'s whole life, from a `trace --log` file'
complete -c shmtool -n "__fish_shmtool_using_subcommand help; and not __fish_seen_subcommand_from ls show maps key dump watch rm limits restore types trace history locks help" -f -a "locks" -d 'Show who waits on whom: threads blocked on locks in shared memory, and their owners'
complete -c shmtool -n "__fish_shmtool_using_subcommand help; and not __fish_seen_subcommand_from ls show maps key dump watch rm limits restore types trace history locks help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
