import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { queueEventHub, QueueService } from '../../queue';
import type { QueueTokenView } from '../../queue';
import { admitSignal } from '../../shared/definitions';
import { queueEntryWorkflowId } from '../../shared/ids';
import type { QueueEntryInput } from '../../shared/types';
import type { queueEntryWorkflow } from '../../workflows/queue-entry';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { authenticate } from '../gate';
import { requireIdentity, tokenRateLimit, tokenRequestUser } from '../identity-gate';

/**
 * `/v1/queue`: enter the line, read the entry's state, follow it as Server-Sent Events.
 * Positions are read from Redis (ZRANK), never by querying a workflow.
 */
export function queueRouter(deps: AppDeps): Router {
  const router = Router();
  const queue = new QueueService(deps);

  /**
   * Starts the entry's workflow. For a new entry, a still-running run for this user is a
   * lapsed entry whose timer has not fired (Redis, which just replaced the entry, is the
   * arbiter of liveness), so it is terminated. For a repeat request the running run is kept:
   * starting is then a no-op, unless an API died between writing the entry and starting its
   * workflow, in which case the client's retry brings the workflow back.
   */
  async function startEntryWorkflow(input: QueueEntryInput, created: boolean): Promise<void> {
    await deps.temporal.workflow.start<typeof queueEntryWorkflow>('queueEntryWorkflow', {
      workflowId: queueEntryWorkflowId(input.userId),
      taskQueue: deps.config.taskQueue,
      args: [input],
      workflowIdConflictPolicy: created ? 'TERMINATE_EXISTING' : 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
  }

  router.post('/tokens', requireIdentity(deps.identity), tokenRateLimit(deps), async (req, res) => {
    const userId = tokenRequestUser(req, res);
    await deps.dataSource.query('INSERT IGNORE INTO users (id) VALUES (?)', [userId]);
    const newTokenId = randomUUID();
    const token = await deps.tokens.sign({ userId, tokenId: newTokenId });
    const { created, tokenId, view } = await queue.enqueue(userId, newTokenId, token);
    try {
      await startEntryWorkflow({ userId, tokenId }, created);
    } catch (err) {
      if (!created) throw err;
      // Nothing half-written: the entry goes unless something newer already replaced it.
      await queue.drop(userId, tokenId).catch((dropErr: unknown) => {
        req.log.error({ err: dropErr, userId }, 'could not undo a queue entry');
      });
      req.log.warn({ err, userId }, 'queue entry workflow did not start');
      throw new HttpError(503, 'SERVICE_UNAVAILABLE', 'The queue is unavailable; retry shortly');
    }
    // The admission tick may have admitted the entry before its workflow existed (its
    // signal then found no workflow): tell the workflow now. A repeat signal is ignored.
    const fresh: QueueTokenView = (await queue.view(userId, tokenId)) ?? view;
    if (fresh.status === 'ACTIVE' && fresh.activeUntil !== null) {
      await deps.temporal.workflow
        .getHandle(queueEntryWorkflowId(userId))
        .signal(admitSignal, { tokenId, activeUntil: Date.parse(fresh.activeUntil) })
        .catch((err: unknown) => req.log.warn({ err, userId }, 'admit signal after start failed'));
    }
    res.status(created ? 201 : 200).json(fresh);
  });

  router.get('/tokens/current', async (req, res) => {
    const auth = await authenticate(deps, req.headers.authorization);
    const view = await queue.view(auth.userId, auth.tokenId);
    if (!view) throw new HttpError(401, 'UNAUTHORIZED', 'The queue token is not known');
    res.json(view);
  });

  router.get('/tokens/current/events', async (req, res) => {
    const auth = await authenticate(deps, req.headers.authorization);
    await queueEventHub(deps).open(req, res, auth);
  });

  return router;
}
