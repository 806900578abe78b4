import type { QueueService } from './service';
import type { QueueSettings, QueueSettingsPatch, QueueSettingsStore } from './settings';

/** `GET /v1/admin/queue`: the counts and the settings in force. */
export type QueueSettingsView = QueueSettings & { waiting: number; active: number };

interface AdminDeps {
  queue: QueueService;
  queueSettings: QueueSettingsStore;
}

export async function queueSettingsView(deps: AdminDeps): Promise<QueueSettingsView> {
  const [counts, settings] = await Promise.all([deps.queue.counts(), deps.queueSettings.read()]);
  return { ...counts, ...settings };
}

/**
 * Stores new settings durably (MySQL, so a Redis loss does not lose a pause), then tells every
 * API instance (paused lines show no estimate, SSE streams refresh); the next admission tick
 * reads them.
 */
export async function updateQueueSettings(deps: AdminDeps, patch: QueueSettingsPatch): Promise<QueueSettingsView> {
  const settings = await deps.queueSettings.update(patch);
  await deps.queue.announceSettings(settings);
  const counts = await deps.queue.counts();
  return { ...counts, ...settings };
}
