import type { Client } from '@temporalio/client';
import { createMetrics } from '../../src/api/metrics';
import { SettlementNotices } from '../../src/money/settlement-notices';

/** A Temporal client whose signals wait until the test lets them go. */
function heldClient(): { client: Client; sent: string[]; release: () => void } {
  const sent: string[] = [];
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const client = {
    workflow: {
      getHandle: (workflowId: string) => ({
        signal: async () => {
          await gate;
          sent.push(workflowId);
        },
      }),
    },
  } as unknown as Client;
  return { client, sent, release: open };
}

const pendingOf = async (registry: ReturnType<typeof createMetrics>['registry']): Promise<number> => {
  const line = /^workflow_notices_pending (\d+)$/m.exec(await registry.metrics());
  if (!line) throw new Error('workflow_notices_pending is not reported');
  return Number(line[1]);
};

describe('workflow_notices_pending', () => {
  it('when a checkout has been answered and its notices are not sent yet, then /metrics counts them until they go', async () => {
    const { client, sent, release } = heldClient();
    const notices = new SettlementNotices(client);
    const { registry } = createMetrics(() => notices.pendingCount);
    expect(await pendingOf(registry)).toBe(0);

    // Two seats settled: one notice each, plus one for the payer's queue entry.
    notices.send('user-1', 'token-1', [
      { concertId: 'c1', date: '2027-01-01', seatNo: 1, reservationId: 'r1', outcome: 'CONFIRMED' },
      { concertId: 'c1', date: '2027-01-01', seatNo: 2, reservationId: 'r2', outcome: 'CONFIRMED' },
    ]);
    expect(await pendingOf(registry)).toBe(3);

    release();
    await notices.drain();
    expect(sent).toHaveLength(3);
    expect(await pendingOf(registry)).toBe(0);
  });
});
