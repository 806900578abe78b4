/**
 * Records one history per workflow path into test/workflows/histories/, for the replay test
 * (test/workflows/replay.test.ts), which replays every file there with today's code. Run it
 * when a workflow gains a path (and version the workflow with `patched` where running
 * workflows would change):
 *   node --import tsx scripts/record-histories.ts
 * The `v1-*` files were recorded by the code before checkout moved to the entry workflow, and
 * the `v2-reservation-*` ones before the hold step reported the hold's remaining time; they are
 * kept, not re-recorded: runs of those shapes may still be open when the new code deploys.
 * Uses a private in-memory dev server and activity doubles; nothing else is touched.
 */
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import {
  admitSignal,
  admissionWorkflowId,
  cancelUpdate,
  checkoutUpdate,
  holdUpdate,
  queueEntryWorkflowId,
  reservationWorkflowId,
  searchAttributeFlags,
  settledSignal,
} from '../src/shared';
import type {
  CheckoutRequest,
  CheckoutResult,
  FinishResult,
  HeldSeat,
  HoldRequest,
  ReleaseRequest,
  ReservationView,
} from '../src/shared';
import { queueAdmissionWorkflow, queueEntryWorkflow, reservationWorkflow } from '../src/workflows';
import { ensureTemporalCli, freePort, startTemporalDevServer } from './provision';
import { stopChild } from './lib/process';

const OUT = path.resolve(__dirname, '../test/workflows/histories');

async function main(): Promise<void> {
  const port = await freePort();
  const server = await startTemporalDevServer({ port, searchAttributes: searchAttributeFlags });
  const address = `127.0.0.1:${port}`;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const taskQueue = 'record-histories';
  const held = new Map<string, ReservationView>();
  const extended = new Set<string>();
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address }),
    taskQueue,
    workflowsPath: require.resolve('../src/workflows'),
    activities: {
      holdSeat: async (req: HoldRequest): Promise<HeldSeat> => {
        const view: ReservationView = {
          ...req,
          price: 50_000,
          status: 'HELD',
          heldUntil: new Date(Date.now() + 1500).toISOString(),
        };
        held.set(req.reservationId, view);
        return { ...view, remainingMs: Date.parse(view.heldUntil) - Date.now() };
      },
      releaseSeat: async (req: ReleaseRequest): Promise<ReservationView> => ({
        ...held.get(req.reservationId)!,
        status: req.outcome,
      }),
      checkout: async (req: CheckoutRequest): Promise<CheckoutResult> => ({
        payment: {
          paymentId: randomUUID(),
          reservationId: req.reservationIds[0]!,
          reservationIds: req.reservationIds,
          amount: 50_000,
          balance: 0,
          paidAt: new Date().toISOString(),
        },
        settled: req.reservationIds.map((reservationId) => ({
          reservationId,
          concertId: randomUUID(),
          date: '2099-12-24',
          seatNo: 1,
          outcome: 'CONFIRMED' as const,
        })),
      }),
      // The first call of each entry answers a window a hold moved 300 ms on; the next ends it.
      finishEntry: async (input: { tokenId: string }): Promise<FinishResult> => {
        if (extended.has(input.tokenId)) return { ended: true };
        extended.add(input.tokenId);
        return { ended: false, activeUntil: Date.now() + 300 };
      },
      admitTick: async () => ({ admitted: 0, started: 0 }),
    },
  });

  const save = async (name: string, handle: WorkflowHandle): Promise<void> => {
    await handle.result().catch(() => undefined);
    const { runId } = await handle.describe();
    // The CLI's JSON is the format historyFromJSON (and the Web UI's download) uses.
    const json = execFileSync(ensureTemporalCli(), [
      'workflow',
      'show',
      '--address',
      address,
      '--workflow-id',
      handle.workflowId,
      '--run-id',
      runId,
      '--output',
      'json',
    ]);
    writeFileSync(path.join(OUT, `${name}.json`), json);
    process.stderr.write(`recorded ${name}\n`);
  };

  const hold = async (): Promise<{ handle: WorkflowHandle<typeof reservationWorkflow>; request: HoldRequest }> => {
    const request: HoldRequest = {
      reservationId: randomUUID(),
      userId: randomUUID(),
      concertId: randomUUID(),
      date: '2099-12-24',
      seatNo: 17,
    };
    const op = new WithStartWorkflowOperation(reservationWorkflow, {
      workflowId: reservationWorkflowId(request.concertId, request.date, request.seatNo),
      taskQueue,
      args: [{ concertId: request.concertId, date: request.date, seatNo: request.seatNo }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    await client.workflow.executeUpdateWithStart(holdUpdate, { args: [request], startWorkflowOperation: op });
    return { handle: await op.workflowHandle(), request };
  };

  mkdirSync(OUT, { recursive: true });
  await worker.runUntil(async () => {
    const expired = await hold();
    await save('reservation-expired', expired.handle);

    const settled = await hold();
    await settled.handle.signal(settledSignal, { reservationId: settled.request.reservationId, outcome: 'CONFIRMED' });
    await save('reservation-settled', settled.handle);

    const cancelled = await hold();
    await cancelled.handle.executeUpdate(cancelUpdate, {
      args: [{ reservationId: cancelled.request.reservationId, userId: cancelled.request.userId }],
    });
    await save('reservation-cancelled', cancelled.handle);

    const admitted = async (activeForMs: number) => {
      const userId = randomUUID();
      const tokenId = randomUUID();
      const handle = await client.workflow.start(queueEntryWorkflow, {
        workflowId: queueEntryWorkflowId(userId),
        taskQueue,
        args: [{ userId, tokenId, activeUntil: Date.now() + activeForMs }],
      });
      return { userId, tokenId, handle };
    };
    // Expires after a hold moved its end once (finishEntry answers the new end, then ends it).
    const expiring = await admitted(300);
    await save('queue-entry-extended-expired', expiring.handle);

    const paying = await admitted(60_000);
    // Two concurrent retries with one key: the second waits for the first and gets its payment.
    const checkout: CheckoutRequest = {
      userId: paying.userId,
      tokenId: paying.tokenId,
      reservationIds: [randomUUID()],
      arrivedAt: Date.now(),
      idempotencyKey: 'k1',
    };
    await Promise.all([
      paying.handle.executeUpdate(checkoutUpdate, { args: [checkout] }),
      paying.handle.executeUpdate(checkoutUpdate, { args: [checkout] }),
    ]);
    await save('queue-entry-checkout', paying.handle);

    // Admitted again while its previous run is still open: hands over by continuing as new.
    const handover = await admitted(300);
    await handover.handle.signal(admitSignal, { tokenId: randomUUID(), activeUntil: Date.now() + 60_000 });
    const firstEntryRun = client.workflow.getHandle(handover.handle.workflowId, handover.handle.firstExecutionRunId, {
      followRuns: false,
    });
    await save('queue-entry-handover', firstEntryRun);
    await handover.handle.terminate('recorded');

    const admission = await client.workflow.start(queueAdmissionWorkflow, {
      workflowId: admissionWorkflowId(taskQueue),
      taskQueue,
      args: [{ ticksPerRun: 3, tickMs: 50 }],
    });
    // The first run ends in continue-as-new; its history is what the replay needs.
    const firstRun = client.workflow.getHandle(admission.workflowId, admission.firstExecutionRunId, {
      followRuns: false,
    });
    await save('queue-admission-continued', firstRun);
    await admission.terminate('recorded');
  });
  await connection.close();
  await stopChild(server);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
