/** Runs around every test file: its temporary homes go after its own afterAll hooks (which stop its services). */
import { afterAll } from 'vitest';
import { removeTempHomes } from './helpers/processes.js';

afterAll(removeTempHomes);
