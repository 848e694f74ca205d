/* The D-Bus names of DESIGN.md, shared by driftd and driftctl. */
#ifndef DRIFT_DAEMON_BUS_NAMES_H
#define DRIFT_DAEMON_BUS_NAMES_H

#define DRIFT_BUS_NAME "org.drift1"
#define DRIFT_MANAGER_PATH "/org/drift1"
#define DRIFT_STREAM_PREFIX "/org/drift1/stream"
#define DRIFT_JOB_PREFIX "/org/drift1/job"
#define DRIFT_MANAGER_IFACE "org.drift1.Manager"
#define DRIFT_STREAM_IFACE "org.drift1.Stream"
#define DRIFT_JOB_IFACE "org.drift1.Job"

#endif
