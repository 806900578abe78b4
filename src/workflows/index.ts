export { queueAdmissionWorkflow } from './queue-admission';
export { queueEntryWorkflow } from './queue-entry';
export { reservationWorkflow } from './reservation';
