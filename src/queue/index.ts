export { queueEventHub, QueueEventHub } from './events';
export type { QueueEventHubDeps, QueueEventHubOptions } from './events';
export { estimateWaitSeconds, QueueService } from './service';
export type { Admission, QueueSettingsPatch, QueueSettingsView, QueueTokenView } from './service';
