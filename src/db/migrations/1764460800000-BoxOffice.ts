import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API v1.1: one payment covers several reservations (`payment_reservations`, one row per
 * reservation, each reservation paid at most once), and the admission settings live here so a
 * Redis loss does not lose a pause (`queue_settings`, a single row; NULL = the configured
 * default). Existing payments keep their one reservation.
 */
export class BoxOffice1764460800000 implements MigrationInterface {
  name = 'BoxOffice1764460800000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE payment_reservations (
        payment_id CHAR(36) NOT NULL,
        reservation_id CHAR(36) NOT NULL,
        PRIMARY KEY (payment_id, reservation_id),
        UNIQUE KEY uq_payment_reservations_reservation (reservation_id),
        CONSTRAINT fk_payment_reservations_payment FOREIGN KEY (payment_id) REFERENCES payments (id),
        CONSTRAINT fk_payment_reservations_reservation FOREIGN KEY (reservation_id) REFERENCES reservations (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    await q.query(
      'INSERT INTO payment_reservations (payment_id, reservation_id) SELECT id, reservation_id FROM payments',
    );
    await q.query('ALTER TABLE payments DROP FOREIGN KEY fk_payments_reservation');
    await q.query('ALTER TABLE payments DROP INDEX uq_payments_reservation, DROP COLUMN reservation_id');
    await q.query(`
      CREATE TABLE queue_settings (
        id TINYINT UNSIGNED NOT NULL,
        max_active INT UNSIGNED NULL,
        admit_per_second INT UNSIGNED NULL,
        paused TINYINT(1) NOT NULL DEFAULT 0,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        CONSTRAINT chk_queue_settings_single_row CHECK (id = 1)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    await q.query('INSERT INTO queue_settings (id, paused, updated_at) VALUES (1, 0, UTC_TIMESTAMP(3))');
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE queue_settings');
    await q.query('ALTER TABLE payments ADD COLUMN reservation_id CHAR(36) NULL AFTER id');
    // A payment of several reservations keeps one of them in the old shape.
    await q.query(
      `UPDATE payments p SET reservation_id =
         (SELECT MIN(pr.reservation_id) FROM payment_reservations pr WHERE pr.payment_id = p.id)`,
    );
    await q.query('ALTER TABLE payments MODIFY reservation_id CHAR(36) NOT NULL');
    await q.query('ALTER TABLE payments ADD UNIQUE KEY uq_payments_reservation (reservation_id)');
    await q.query(
      'ALTER TABLE payments ADD CONSTRAINT fk_payments_reservation FOREIGN KEY (reservation_id) REFERENCES reservations (id)',
    );
    await q.query('DROP TABLE payment_reservations');
  }
}
