//! Warnings about what the machine's configuration will do to shared memory.

use crate::model::RemoveIpc;

/// One line: logind's RemoveIPC will remove these owners' objects at their logout.
pub fn remove_ipc_warning(setting: &RemoveIpc, owners: &str) -> String {
    let why = match &setting.source {
        Some(f) => format!("RemoveIPC=yes in {f}"),
        None => "RemoveIPC=yes, the default".to_string(),
    };
    format!(
        "warning: systemd-logind removes a regular user's System V and POSIX shared memory when \
         their last session ends ({why}); at risk here, objects of {owners} \
         (uid > {}). Set RemoveIPC=no in /etc/systemd/logind.conf, or run the service as a system user.",
        setting.sys_uid_max
    )
}
