/**
 * Records one history per workflow path into test/workflows/histories/, for the replay test
 * (test/workflows/replay.test.ts). Run it when a workflow change is deliberately
 * incompatible with running workflows (and version the workflow instead, where possible):
 *   node --import tsx scripts/record-histories.ts
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
  completeSignal,
  holdUpdate,
  payUpdate,
  queueEntryWorkflowId,
  reservationWorkflowId,
  searchAttributeFlags,
} from '../src/shared';
import type { HoldRequest, ReleaseRequest, ReservationView } from '../src/shared';
import { queueAdmissionWorkflow, queueEntryWorkflow, reservationWorkflow } from '../src/workflows';
import { ensureTemporalCli, freePort, startTemporalDevServer } from './provision';

const OUT = path.resolve(__dirname, '../test/workflows/histories');

async function main(): Promise<void> {
  const port = await freePort();
  const server = await startTemporalDevServer({ port, searchAttributes: searchAttributeFlags });
  const address = `127.0.0.1:${port}`;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const taskQueue = 'record-histories';
  const held = new Map<string, ReservationView>();
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address }),
    taskQueue,
    workflowsPath: require.resolve('../src/workflows'),
    activities: {
      holdSeat: async (req: HoldRequest): Promise<ReservationView> => {
        const view: ReservationView = {
          ...req,
          price: 50_000,
          status: 'HELD',
          heldUntil: new Date(Date.now() + 1500).toISOString(),
        };
        held.set(req.reservationId, view);
        return view;
      },
      releaseSeat: async (req: ReleaseRequest): Promise<ReservationView> => ({
        ...held.get(req.reservationId)!,
        status: req.outcome,
      }),
      payReservation: async (req: { reservationId: string }) => ({
        paymentId: randomUUID(),
        reservationId: req.reservationId,
        amount: 50_000,
        balance: 0,
        paidAt: new Date().toISOString(),
      }),
      markEntryCompleted: async () => randomUUID(),
      finishEntry: async () => undefined,
      admitTick: async () => ({ admitted: 0 }),
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
      date: '2026-12-24',
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

    const paid = await hold();
    // Two concurrent retries with one key: the second waits for the first and gets its payment.
    const pay = { reservationId: paid.request.reservationId, userId: paid.request.userId, idempotencyKey: 'k1' };
    await Promise.all([
      paid.handle.executeUpdate(payUpdate, { args: [pay] }),
      paid.handle.executeUpdate(payUpdate, { args: [pay] }),
    ]);
    await save('reservation-paid', paid.handle);

    const cancelled = await hold();
    await cancelled.handle.executeUpdate(cancelUpdate, {
      args: [{ reservationId: cancelled.request.reservationId, userId: cancelled.request.userId }],
    });
    await save('reservation-cancelled', cancelled.handle);

    for (const ending of ['expired', 'completed'] as const) {
      const userId = randomUUID();
      const tokenId = randomUUID();
      const entry = await client.workflow.start(queueEntryWorkflow, {
        workflowId: queueEntryWorkflowId(userId),
        taskQueue,
        args: [{ userId, tokenId }],
      });
      await entry.signal(admitSignal, { tokenId, activeUntil: Date.now() + (ending === 'expired' ? 500 : 60_000) });
      if (ending === 'completed') await entry.signal(completeSignal, { tokenId });
      await save(`queue-entry-${ending}`, entry);
    }

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
  server.kill('SIGTERM');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
