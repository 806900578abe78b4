import { Router } from 'express';
import type { AppDeps } from '../deps';

export function adminQueueRouter(deps: AppDeps): Router {
  void deps;
  return Router();
}
