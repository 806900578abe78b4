import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A queue token pays once: the payment records the token it spent, unique. The API now runs
 * the checkout transaction itself (no workflow serializes a user's checkouts any more), so two
 * payments sent at once with one token, for different holds, are told apart here: the second
 * one's insert fails and rolls back. Earlier payments keep NULL (unique allows many NULLs).
 */
export class PaymentToken1764806400000 implements MigrationInterface {
  name = 'PaymentToken1764806400000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE payments ADD COLUMN token_id CHAR(36) NULL AFTER user_id');
    await q.query('ALTER TABLE payments ADD UNIQUE KEY uq_payments_token (token_id)');
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE payments DROP INDEX uq_payments_token, DROP COLUMN token_id');
  }
}
