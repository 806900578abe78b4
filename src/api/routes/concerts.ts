import { Router } from 'express';
import type { AppDeps } from '../deps';

export function concertsRouter(deps: AppDeps): Router {
  void deps;
  return Router();
}
