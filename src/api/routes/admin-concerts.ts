import { Router } from 'express';
import type { AppDeps } from '../deps';

export function adminConcertsRouter(deps: AppDeps): Router {
  void deps;
  return Router();
}
