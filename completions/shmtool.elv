
use builtin;
use str;

set edit:completion:arg-completer[shmtool] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'shmtool'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'shmtool'= {
            cand --color 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never'
            cand --ns 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by'
            cand --wide 'Do not fit tables to the terminal: print every column and every name in full'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand ls 'List every shared-memory object with the processes attached to it'
            cand list 'List every shared-memory object with the processes attached to it'
            cand show 'Show one object in full: every field and every attaching process'
            cand maps 'List every mapping of one process, classified, with RSS, PSS and swap'
            cand key 'Compute the System V key ftok(PATH, PROJ_ID) gives, and find the segment that has it'
            cand dump 'Copy live shared memory out, read-only'
            cand watch 'Watch live shared memory change, read-only'
            cand rm 'Remove System V segments and POSIX objects, refusing those still in use'
            cand limits 'Show the kernel''s shared-memory limits and current use of each'
            cand restore 'Bring back an object `rm --backup DIR` saved: same bytes, same name or key (new shmid)'
            cand types 'List the struct, class and union types a program''s debug information defines'
            cand trace 'Log shared-memory lifecycle events machine-wide as they happen (needs root)'
            cand history 'One object''s whole life, from a `trace --log` file'
            cand locks 'Show who waits on whom: threads blocked on locks in shared memory, and their owners'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'shmtool;ls'= {
            cand -o 'Columns to show, separated by commas; `+COLS` adds to the default ones (see --list-columns)'
            cand --output 'Columns to show, separated by commas; `+COLS` adds to the default ones (see --list-columns)'
            cand --format 'Output format; `prometheus` writes the node_exporter textfile-collector format'
            cand --kind 'Only objects of these kinds (repeat or separate with commas)'
            cand --pid 'Only objects that these processes map'
            cand --user 'Only objects owned by this user (name or uid)'
            cand --verdict 'Only objects with these verdicts (repeat or separate with commas), with a WHY column'
            cand --name 'Only objects whose name matches this glob (`*`, `?`): the name inside /dev/shm, a memfd''s name, a file''s path, or a System V key ("0x…")'
            cand --older-than 'Only objects made more than this long ago (e.g. 30m, 12h, 7d): System V creation or last IPC_SET, a file''s birth time (else its last modification), by the wall clock'
            cand --ipc 'Which IPC objects: shared memory only (the default), or all (adding semaphore sets and message queues, which `--kind sem,msg,mqueue` also asks for)'
            cand --sort 'Sort by this column'
            cand --color 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never'
            cand --ns 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by'
            cand --json 'Print JSON instead of a table'
            cand --bytes 'Print sizes as exact byte counts instead of binary units'
            cand --noheadings 'Print no header line'
            cand --raw 'Raw output for scripts: one space between cells, spaces and backslashes in cells written as \x20 and \x5c, nothing cut, no colour'
            cand --list-columns 'List the columns -o accepts, with what each shows, and exit'
            cand --stale 'Only leaked objects (verdict "leaked": what `rm --stale` removes), with a WHY column'
            cand --idle 'Only idle objects (nobody holds them now, but something alive could come back for them), with a WHY column'
            cand --programs 'Add a PROGRAM column: the well-known program each /dev/shm object belongs to'
            cand -a 'Also list read-only shared file mappings (r--s), such as font and locale caches'
            cand --all 'Also list read-only shared file mappings (r--s), such as font and locale caches'
            cand -r 'Reverse the sort order'
            cand --reverse 'Reverse the sort order'
            cand --all-namespaces 'List the System V segments of every IPC namespace found under /proc (needs root)'
            cand --per-object 'With --format prometheus: also one series per object (labelled kind, id, ipc_ns, key, owner, path); by default only aggregates, whose series do not churn'
            cand -q 'Print no notes on standard error (for cron and timers); errors are still printed'
            cand --quiet 'Print no notes on standard error (for cron and timers); errors are still printed'
            cand --wide 'Do not fit tables to the terminal: print every column and every name in full'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shmtool;list'= {
            cand -o 'Columns to show, separated by commas; `+COLS` adds to the default ones (see --list-columns)'
            cand --output 'Columns to show, separated by commas; `+COLS` adds to the default ones (see --list-columns)'
            cand --format 'Output format; `prometheus` writes the node_exporter textfile-collector format'
            cand --kind 'Only objects of these kinds (repeat or separate with commas)'
            cand --pid 'Only objects that these processes map'
            cand --user 'Only objects owned by this user (name or uid)'
            cand --verdict 'Only objects with these verdicts (repeat or separate with commas), with a WHY column'
            cand --name 'Only objects whose name matches this glob (`*`, `?`): the name inside /dev/shm, a memfd''s name, a file''s path, or a System V key ("0x…")'
            cand --older-than 'Only objects made more than this long ago (e.g. 30m, 12h, 7d): System V creation or last IPC_SET, a file''s birth time (else its last modification), by the wall clock'
            cand --ipc 'Which IPC objects: shared memory only (the default), or all (adding semaphore sets and message queues, which `--kind sem,msg,mqueue` also asks for)'
            cand --sort 'Sort by this column'
            cand --color 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never'
            cand --ns 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by'
            cand --json 'Print JSON instead of a table'
            cand --bytes 'Print sizes as exact byte counts instead of binary units'
            cand --noheadings 'Print no header line'
            cand --raw 'Raw output for scripts: one space between cells, spaces and backslashes in cells written as \x20 and \x5c, nothing cut, no colour'
            cand --list-columns 'List the columns -o accepts, with what each shows, and exit'
            cand --stale 'Only leaked objects (verdict "leaked": what `rm --stale` removes), with a WHY column'
            cand --idle 'Only idle objects (nobody holds them now, but something alive could come back for them), with a WHY column'
            cand --programs 'Add a PROGRAM column: the well-known program each /dev/shm object belongs to'
            cand -a 'Also list read-only shared file mappings (r--s), such as font and locale caches'
            cand --all 'Also list read-only shared file mappings (r--s), such as font and locale caches'
            cand -r 'Reverse the sort order'
            cand --reverse 'Reverse the sort order'
            cand --all-namespaces 'List the System V segments of every IPC namespace found under /proc (needs root)'
            cand --per-object 'With --format prometheus: also one series per object (labelled kind, id, ipc_ns, key, owner, path); by default only aggregates, whose series do not churn'
            cand -q 'Print no notes on standard error (for cron and timers); errors are still printed'
            cand --quiet 'Print no notes on standard error (for cron and timers); errors are still printed'
            cand --wide 'Do not fit tables to the terminal: print every column and every name in full'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shmtool;show'= {
            cand --log 'A `trace --log` file to take the object''s history from (used when it exists)'
            cand --color 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never'
            cand --ns 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by'
            cand --json 'Print JSON instead of a table'
            cand --bytes 'Print sizes as exact byte counts instead of binary units'
            cand --wide 'Do not fit tables to the terminal: print every column and every name in full'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shmtool;maps'= {
            cand --color 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never'
            cand --ns 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by'
            cand --json 'Print JSON instead of a table'
            cand --bytes 'Print sizes as exact byte counts instead of binary units'
            cand --shared 'Only shared mappings'
            cand --wide 'Do not fit tables to the terminal: print every column and every name in full'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shmtool;key'= {
            cand --find 'Reverse: which files could have produced this key?'
            cand --in 'With --find: directories to search (repeatable)'
            cand --color 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never'
            cand --ns 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by'
            cand --json 'Print JSON instead of a table'
            cand --bytes 'Print sizes as exact byte counts instead of binary units'
            cand --wide 'Do not fit tables to the terminal: print every column and every name in full'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shmtool;dump'= {
            cand --shmid 'A System V segment by shmid'
            cand --key 'A System V segment by key'
            cand --ftok 'A System V segment by ftok(PATH, PROJ_ID)'
            cand --path 'A POSIX object (/dev/shm name) or any file'
            cand --offset 'Start this many bytes after ADDR or the object''s start (bytes, 0x hex, or k/M/G; at most 2^63-1, the largest file offset)'
            cand --length 'Read at most this many bytes (default: to the end of the mapping or object)'
            cand --layout 'Decode as a C struct, e.g. ''id:i32,name:char[20],sex:char'', laid out with C alignment'
            cand --layout-repeat 'With --layout or --type: decode this many structs one after another (at least 1)'
            cand --type 'Decode with the program''s own type, from its debug information (DWARF): ''struct STU'', testmap, ''app::Rec'', ''STU[4]'' (four in a row)'
            cand --debug-file 'With --type: read types from this file (a -g build, or a separate debug file)'
            cand --pid-for-types 'With --type: take types from this process''s executable and libraries (for a segment nobody maps now)'
            cand --msqid 'A System V message queue: copies of its messages, oldest first, each with its type. The queue keeps them (msgrcv MSG_COPY, which needs a kernel with CONFIG_CHECKPOINT_RESTORE); nothing about the queue changes'
            cand --format 'Output format: hex (the default, on a terminal or not), raw bytes, or text (printable runs)'
            cand -o 'Write to this new file (mode 0600) instead of standard output; see --force'
            cand --output 'Write to this new file (mode 0600) instead of standard output; see --force'
            cand --color 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never'
            cand --ns 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by'
            cand --force 'Allow raw bytes to a terminal; with -o, overwrite an existing file, follow a symlink, or write into /dev/shm. Without it, -o only creates a new file (mode 0600, O_EXCL, O_NOFOLLOW). The object being dumped is never written'
            cand --json 'Print JSON Lines: one {address, hex} object per 16-byte row, or with --layout one {index, address, fields, hints} object per record'
            cand --wide 'Do not fit tables to the terminal: print every column and every name in full'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shmtool;watch'= {
            cand --shmid 'A System V segment by shmid'
            cand --key 'A System V segment by key'
            cand --ftok 'A System V segment by ftok(PATH, PROJ_ID)'
            cand --path 'A POSIX object (/dev/shm name) or any file'
            cand --offset 'Start this many bytes after ADDR or the object''s start (bytes, 0x hex, or k/M/G; at most 2^63-1, the largest file offset)'
            cand --length 'Read at most this many bytes (default: to the end of the mapping or object)'
            cand --layout 'Decode as a C struct, e.g. ''id:i32,name:char[20],sex:char'', laid out with C alignment'
            cand --layout-repeat 'With --layout or --type: decode this many structs one after another (at least 1)'
            cand --type 'Decode with the program''s own type, from its debug information (DWARF): ''struct STU'', testmap, ''app::Rec'', ''STU[4]'' (four in a row)'
            cand --debug-file 'With --type: read types from this file (a -g build, or a separate debug file)'
            cand --pid-for-types 'With --type: take types from this process''s executable and libraries (for a segment nobody maps now)'
            cand -n 'Time between refreshes, e.g. 1s, 250ms (at least 10ms)'
            cand --interval 'Time between refreshes, e.g. 1s, 250ms (at least 10ms)'
            cand -c 'Stop after this many refreshes'
            cand --count 'Stop after this many refreshes'
            cand --color 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never'
            cand --ns 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by'
            cand --json 'Print JSON Lines: one object per refresh that changed something'
            cand --wide 'Do not fit tables to the terminal: print every column and every name in full'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shmtool;rm'= {
            cand --key 'Remove the segment with this key (repeatable)'
            cand --posix 'Remove this POSIX object: a plain name inside /dev/shm (repeatable)'
            cand --sem 'Remove this System V semaphore set (repeatable); refused while a process that last operated on it lives or waits on it, unless --force'
            cand --msg 'Remove this System V message queue (repeatable); refused while its last sender or receiver lives, unless --force'
            cand --mqueue 'Remove this POSIX message queue (`/NAME` or `NAME`, repeatable); refused while a process holds it open, unless --force'
            cand --user 'With --stale: only objects owned by this user (name or uid)'
            cand --kind 'With --stale: only objects of these kinds (repeat or separate with commas)'
            cand --name 'Only objects whose name matches this glob (`*`, `?`): the name inside /dev/shm, a memfd''s name, a file''s path, or a System V key ("0x…")'
            cand --older-than 'Only objects made more than this long ago (e.g. 30m, 12h, 7d): System V creation or last IPC_SET, a file''s birth time (else its last modification), by the wall clock'
            cand --backup 'Save each object''s bytes and metadata in this directory before removing it (`shmtool restore FILE` brings it back)'
            cand --color 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never'
            cand --ns 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by'
            cand --stale 'Remove every object `ls --stale` lists (verdict "leaked"), re-checking each right before'
            cand -n 'Show what would be removed; remove nothing'
            cand --dry-run 'Show what would be removed; remove nothing'
            cand -f 'Remove segments that still have attachers (they go when the last one detaches)'
            cand --force 'Remove segments that still have attachers (they go when the last one detaches)'
            cand -y 'Do not ask for confirmation'
            cand --yes 'Do not ask for confirmation'
            cand --json 'Print the summary as JSON'
            cand --wide 'Do not fit tables to the terminal: print every column and every name in full'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shmtool;limits'= {
            cand --color 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never'
            cand --ns 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by'
            cand --json 'Print JSON instead of a table'
            cand --bytes 'Print sizes as exact byte counts instead of binary units'
            cand --all-namespaces 'Also each container''s own /dev/shm (every mount namespace''s, once per device), side by side with the host''s (needs root)'
            cand --wide 'Do not fit tables to the terminal: print every column and every name in full'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shmtool;restore'= {
            cand --color 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never'
            cand --ns 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by'
            cand --json 'Print what was restored as JSON'
            cand --wide 'Do not fit tables to the terminal: print every column and every name in full'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shmtool;types'= {
            cand --debug-file 'Read types from this file instead (a -g build, or a separate debug file)'
            cand --color 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never'
            cand --ns 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by'
            cand -a 'Also list the standard and C libraries'' own types (std::…, _IO_FILE, …)'
            cand --all 'Also list the standard and C libraries'' own types (std::…, _IO_FILE, …)'
            cand --json 'Print a JSON array of {name, kind, size, members, file}'
            cand --wide 'Do not fit tables to the terminal: print every column and every name in full'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shmtool;trace'= {
            cand --kind 'Only objects of these kinds (repeat or separate with commas)'
            cand --event 'Only events of these kinds (repeat or separate with commas)'
            cand --pid 'Only calls made by these processes'
            cand --user 'Only calls made by this user (name or uid)'
            cand --name 'Only objects whose path or name matches this glob (`*`, `?`), e.g. ''psm_*'''
            cand --key 'Only the System V segment with this key'
            cand --shmid 'Only the System V segment with this shmid'
            cand --duration 'Stop after this long, e.g. 30s, 5m'
            cand -c 'Stop after this many events (after filtering)'
            cand --count 'Stop after this many events (after filtering)'
            cand --log 'Also append every event shown, as JSON Lines, to this file (read by `history` and `show`)'
            cand --log-size 'Rotate the log when it would grow past this size (FILE becomes FILE.1, and so on)'
            cand --log-keep 'How many rotated logs to keep'
            cand --color 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never'
            cand --ns 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by'
            cand --json 'Print JSON Lines: one object per event'
            cand -q 'Print no events on standard output (with --log, for a service)'
            cand --quiet 'Print no events on standard output (with --log, for a service)'
            cand --wide 'Do not fit tables to the terminal: print every column and every name in full'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shmtool;history'= {
            cand --log 'The log `trace --log` writes'
            cand --color 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never'
            cand --ns 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by'
            cand --json 'Print JSON Lines, as the log holds them'
            cand --wide 'Do not fit tables to the terminal: print every column and every name in full'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shmtool;locks'= {
            cand --pid 'Only waits of these processes, or on locks these processes hold (repeat or separate with commas)'
            cand --kind 'Only locks in objects of these kinds (repeat or separate with commas)'
            cand --type 'The type laid out at the start of the objects (''struct shared'', ''slot[16]''): name the member that holds each lock from the waiter''s debug information (DWARF)'
            cand --debug-file 'Read types from this file (a -g build, or a separate debug file) instead of each waiter''s own program'
            cand --color 'When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never'
            cand --ns 'Look from inside the IPC namespace (and at the /dev/shm) of this process, as `nsenter -t PID -i -m` would: a container''s segments, by the ids it knows them by'
            cand --json 'Print JSON instead of a table'
            cand --wide 'Do not fit tables to the terminal: print every column and every name in full'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shmtool;help'= {
            cand ls 'List every shared-memory object with the processes attached to it'
            cand show 'Show one object in full: every field and every attaching process'
            cand maps 'List every mapping of one process, classified, with RSS, PSS and swap'
            cand key 'Compute the System V key ftok(PATH, PROJ_ID) gives, and find the segment that has it'
            cand dump 'Copy live shared memory out, read-only'
            cand watch 'Watch live shared memory change, read-only'
            cand rm 'Remove System V segments and POSIX objects, refusing those still in use'
            cand limits 'Show the kernel''s shared-memory limits and current use of each'
            cand restore 'Bring back an object `rm --backup DIR` saved: same bytes, same name or key (new shmid)'
            cand types 'List the struct, class and union types a program''s debug information defines'
            cand trace 'Log shared-memory lifecycle events machine-wide as they happen (needs root)'
            cand history 'One object''s whole life, from a `trace --log` file'
            cand locks 'Show who waits on whom: threads blocked on locks in shared memory, and their owners'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'shmtool;help;ls'= {
        }
        &'shmtool;help;show'= {
        }
        &'shmtool;help;maps'= {
        }
        &'shmtool;help;key'= {
        }
        &'shmtool;help;dump'= {
        }
        &'shmtool;help;watch'= {
        }
        &'shmtool;help;rm'= {
        }
        &'shmtool;help;limits'= {
        }
        &'shmtool;help;restore'= {
        }
        &'shmtool;help;types'= {
        }
        &'shmtool;help;trace'= {
        }
        &'shmtool;help;history'= {
        }
        &'shmtool;help;locks'= {
        }
        &'shmtool;help;help'= {
        }
    ]
    $completions[$command]
}
