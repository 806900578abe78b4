import { WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { holdSeatFor } from '../../src/seats/booking';
import type { BookingDeps } from '../../src/seats/booking';
import type { PerformanceLookup } from '../../src/seats/performances';
import type { SeatState } from '../../src/seats/seat-state';
import type { ReservationView } from '../../src/shared/types';

const CHOICE = { userId: 'u-1', concertId: 'c-1', date: '2099-12-24', seatNo: 7 };

/** The error the client raises when the Temporal server (or our own deadline) ends an update call. */
const deadlineExceeded = (): WorkflowUpdateRPCTimeoutOrCancelledError =>
  new WorkflowUpdateRPCTimeoutOrCancelledError('context deadline exceeded', {
    cause: Object.assign(new Error('4 DEADLINE_EXCEEDED: context deadline exceeded'), { code: 4 }),
  });

/** Booking deps whose Temporal client answers each update-with-start from `answers`, in turn. */
function depsWith(answers: Array<() => Promise<ReservationView>>, workflowCallTimeoutMs: number) {
  const calls: Array<{ updateId?: string }> = [];
  const updates: Array<{ workflowId: string; args: unknown[] }> = [];
  const temporal = {
    withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
    workflow: {
      executeUpdateWithStart: (_def: unknown, options: { updateId?: string }) => {
        calls.push(options);
        const answer = answers[calls.length - 1];
        return answer ? answer() : Promise.reject(new Error('no more answers'));
      },
      getHandle: (workflowId: string) => ({
        executeUpdate: (_def: unknown, { args }: { args: unknown[] }) => {
          updates.push({ workflowId, args });
          return Promise.resolve();
        },
      }),
    },
  } as unknown as Client;
  const deps: BookingDeps = {
    dataSource: {} as DataSource,
    temporal,
    seatState: {
      claim: () => Promise.resolve('claimed'),
      dropClaim: () => Promise.resolve(),
    } as unknown as SeatState,
    performances: { require: () => Promise.resolve(1) } as unknown as PerformanceLookup,
    config: { taskQueue: 'q', workflowCallTimeoutMs },
    log: pino({ level: 'silent' }),
  };
  return { deps, calls, updates };
}

const held = (reservationId: string): ReservationView =>
  ({ reservationId, status: 'HELD', ...CHOICE }) as unknown as ReservationView;

describe('holdSeatFor against the Temporal server per-call limit', () => {
  it('when the server ends the hold call with DEADLINE_EXCEEDED while our deadline has time left, then it asks again under the same update id and answers the hold', async () => {
    const { deps, calls } = depsWith(
      [() => Promise.reject(deadlineExceeded()), () => Promise.resolve(held(calls[1]!.updateId!))],
      60_000,
    );
    const view = await holdSeatFor(deps, CHOICE);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.updateId).toBeDefined();
    expect(calls[1]!.updateId).toBe(calls[0]!.updateId);
    // The update id is the reservation id the workflow holds the seat under.
    expect(view.reservationId).toBe(calls[0]!.updateId);
  });

  it('when DEADLINE_EXCEEDED comes with no time of ours left, then it is not asked again: the error reaches the client (503) and the hold is cancelled in the background', async () => {
    const { deps, calls, updates } = depsWith([() => Promise.reject(deadlineExceeded())], 500);
    await expect(holdSeatFor(deps, CHOICE)).rejects.toBeInstanceOf(WorkflowUpdateRPCTimeoutOrCancelledError);
    expect(calls).toHaveLength(1);
    expect(updates).toEqual([
      { workflowId: 'reservation:c-1:2099-12-24:7', args: [{ reservationId: calls[0]!.updateId, userId: 'u-1' }] },
    ]);
  });

  it('when the call fails for another reason, then it is not asked again', async () => {
    const { deps, calls } = depsWith([() => Promise.reject(new Error('boom'))], 60_000);
    await expect(holdSeatFor(deps, CHOICE)).rejects.toThrow('boom');
    expect(calls).toHaveLength(1);
  });
});
