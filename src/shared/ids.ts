/**
 * Workflow ids are business keys, so an operator can type them into the Temporal Web UI.
 */

/** One queue entry per user; Temporal's id uniqueness keeps at most one running. */
export const queueEntryWorkflowId = (userId: string): string => `queue-entry:${userId}`;

/** The single admission loop of one deployment (one per task queue). */
export const admissionWorkflowId = (taskQueue: string): string => `queue-admission:${taskQueue}`;

/**
 * The admission loop runs on a task queue of its own (polled by a small second worker in
 * each worker process), so its ticks do not wait behind a backlog of entry workflow tasks.
 */
export const admissionTaskQueue = (taskQueue: string): string => `${taskQueue}-admission`;

/**
 * One running reservation workflow per seat: every hold of a seat is a run of this id
 * (list them all with `WorkflowId = "reservation:…"`), and a second hold attaches to the
 * running one, which refuses it without asking the database.
 */
export const reservationWorkflowId = (concertId: string, date: string, seatNo: number): string =>
  `reservation:${concertId}:${date}:${seatNo}`;

/**
 * Reservation workflows (holds, payments, releases) run on a task queue of their own, so a
 * burst of queue entries (thousands of entry workflow tasks) never delays a hold or a payment
 * that a user is waiting for.
 */
export const reservationTaskQueue = (taskQueue: string): string => `${taskQueue}-reservations`;
