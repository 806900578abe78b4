export { QueueEventHub } from './events';
export type { QueueEventHubDeps, QueueEventHubOptions } from './events';
export { effectiveStatus, estimateWaitSeconds, QueueService } from './service';
export type { Admission, EntryLookup, QueueTokenView } from './service';
export type { QueueSettings, QueueSettingsPatch } from './settings';
