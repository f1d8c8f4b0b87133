/** Entry of the browser's engine worker; the logic is in src/web/worker/engine-service.ts. */
import { expose } from 'comlink';
import { installErrorTransfer } from '../src/web/rpc/errors.ts';
import { createEngineService } from '../src/web/worker/engine-service.ts';

installErrorTransfer();
expose(createEngineService());

