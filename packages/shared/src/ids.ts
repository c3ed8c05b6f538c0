/** Public identifiers: a prefix that says what it names, then a nanoid (no ':' so BullMQ accepts it). */
import { customAlphabet } from 'nanoid';

const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const nano = customAlphabet(alphabet, 21);

export const newJobId = (): string => `job_${nano()}`;
export const newBatchId = (): string => `batch_${nano()}`;
export const newWorkerId = (): string => `wrk_${nano().slice(0, 10)}`;

const ID_PATTERN = /^(job|batch|wrk)_[0-9A-Za-z]{1,32}$/;
/** True when `id` has the shape of one of our ids (cheap rejection before any Redis call). */
export const isWellFormedId = (id: string, kind: 'job' | 'batch'): boolean =>
  ID_PATTERN.test(id) && id.startsWith(`${kind}_`);
