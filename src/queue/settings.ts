import type { Queryable } from '../db/sql';

/** The admission settings in force (API.md `GET /v1/admin/queue`, less the counts). */
export interface QueueSettings {
  maxActive: number;
  admitPerSecond: number;
  paused: boolean;
}

export type QueueSettingsPatch = Partial<QueueSettings>;

interface SettingsRow {
  max_active: number | string | null;
  admit_per_second: number | string | null;
  paused: number | string;
}

/**
 * Admission settings changed at run time, stored in MySQL (`queue_settings`, one row) so a
 * Redis loss does not lose a pause. A NULL column means "the configured default". Read once
 * per admission tick and by the admin endpoints; cheap (a primary-key read).
 */
export class QueueSettingsStore {
  constructor(
    private readonly db: Queryable,
    private readonly defaults: { queueMaxActive: number; queueAdmitPerSecond: number },
  ) {}

  async read(): Promise<QueueSettings> {
    const [row] = await this.db.query<SettingsRow[]>(
      'SELECT max_active, admit_per_second, paused FROM queue_settings WHERE id = 1',
    );
    return {
      maxActive: row?.max_active === null || !row ? this.defaults.queueMaxActive : Number(row.max_active),
      admitPerSecond:
        row?.admit_per_second === null || !row ? this.defaults.queueAdmitPerSecond : Number(row.admit_per_second),
      paused: Number(row?.paused ?? 0) === 1,
    };
  }

  /** Writes the given fields (the row exists from the migration) and returns the settings now in force. */
  async update(patch: QueueSettingsPatch): Promise<QueueSettings> {
    const columns: Array<[string, number | undefined]> = [
      ['max_active', patch.maxActive],
      ['admit_per_second', patch.admitPerSecond],
      ['paused', patch.paused === undefined ? undefined : Number(patch.paused)],
    ];
    const given = columns.filter((c): c is [string, number] => c[1] !== undefined);
    if (given.length > 0) {
      await this.db.query(
        `UPDATE queue_settings SET ${given.map(([column]) => `${column} = ?`).join(', ')}, updated_at = ? WHERE id = 1`,
        [...given.map(([, value]) => value), new Date()],
      );
    }
    return this.read();
  }
}
