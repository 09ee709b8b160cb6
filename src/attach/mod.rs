//! Read-only access to live bytes: System V (shmat SHM_RDONLY), files, other processes.
