// Package drill runs carrot's operational drills against a running system
// and reports what they measured: the seed's siege overload, autoscaling,
// cold starts, a payments outage, a broker outage, trigger retries and the
// dead-letter sink, consumer and broker faults under deals in flight with
// the invariant checker after each, a rollout under load and
// self-healing.
//
// Every drill has the shape of Overload: it takes an Env (where the system
// is and how to reach it) and Options (full or short), drives the system
// through its public API, the local runtime's /_local routes and the
// broker ingress, and returns a Report. A Report holds a summary of every
// request the drill sent (status histogram, success rate, latency
// percentiles from vegeta's Metrics), a timeline sampled from
// /_local/status, drill-specific rows and Checks. A Check is an invariant
// computed from what was measured, such as counts, statuses, headers and
// state read back through the API; a Check marked Timing states a bound on
// a duration, which depends on the machine, and is reported but never
// asserted by tests.
//
// Against a base URL without the /_local routes (a real cluster) the
// drills that need the runtime's controls are skipped with the kubectl
// equivalent to run by hand; the others run with instance counts shown
// as n/a.
package drill
