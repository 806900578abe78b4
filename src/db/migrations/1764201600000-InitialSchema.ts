import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The whole first schema. Money is BIGINT won; times are DATETIME(3) in UTC (the pool sets
 * the session time zone to +00:00). Seat state changes are guarded updates on `seats`,
 * which is why (performance_id, status, hold_expires_at) is indexed.
 */
export class InitialSchema1764201600000 implements MigrationInterface {
  name = 'InitialSchema1764201600000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id CHAR(36) NOT NULL,
        balance BIGINT NOT NULL DEFAULT 0,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
        PRIMARY KEY (id),
        CONSTRAINT chk_users_balance CHECK (balance >= 0)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    await q.query(`
      CREATE TABLE concerts (
        id CHAR(36) NOT NULL,
        title VARCHAR(200) NOT NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        PRIMARY KEY (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    await q.query(`
      CREATE TABLE performances (
        id CHAR(36) NOT NULL,
        concert_id CHAR(36) NOT NULL,
        date DATE NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_performances_concert_date (concert_id, date),
        CONSTRAINT fk_performances_concert FOREIGN KEY (concert_id) REFERENCES concerts (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    await q.query(`
      CREATE TABLE seats (
        id BIGINT NOT NULL AUTO_INCREMENT,
        performance_id CHAR(36) NOT NULL,
        seat_no TINYINT UNSIGNED NOT NULL,
        price BIGINT NOT NULL,
        status ENUM('AVAILABLE','HELD','SOLD') NOT NULL DEFAULT 'AVAILABLE',
        holder_user_id CHAR(36) NULL,
        hold_expires_at DATETIME(3) NULL,
        reservation_id CHAR(36) NULL,
        updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
        PRIMARY KEY (id),
        UNIQUE KEY uq_seats_performance_seat (performance_id, seat_no),
        KEY idx_seats_performance_status (performance_id, status, hold_expires_at),
        CONSTRAINT fk_seats_performance FOREIGN KEY (performance_id) REFERENCES performances (id),
        CONSTRAINT chk_seats_seat_no CHECK (seat_no BETWEEN 1 AND 50),
        CONSTRAINT chk_seats_price CHECK (price >= 0)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    await q.query(`
      CREATE TABLE reservations (
        id CHAR(36) NOT NULL,
        user_id CHAR(36) NOT NULL,
        seat_id BIGINT NOT NULL,
        price BIGINT NOT NULL,
        status ENUM('HELD','CONFIRMED','EXPIRED','CANCELLED') NOT NULL,
        held_until DATETIME(3) NOT NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
        PRIMARY KEY (id),
        KEY idx_reservations_user (user_id, created_at),
        KEY idx_reservations_seat (seat_id, status),
        CONSTRAINT fk_reservations_user FOREIGN KEY (user_id) REFERENCES users (id),
        CONSTRAINT fk_reservations_seat FOREIGN KEY (seat_id) REFERENCES seats (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    await q.query(`
      CREATE TABLE payments (
        id CHAR(36) NOT NULL,
        reservation_id CHAR(36) NOT NULL,
        user_id CHAR(36) NOT NULL,
        amount BIGINT NOT NULL,
        balance_after BIGINT NOT NULL,
        paid_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_payments_reservation (reservation_id),
        KEY idx_payments_user (user_id, paid_at),
        CONSTRAINT fk_payments_reservation FOREIGN KEY (reservation_id) REFERENCES reservations (id),
        CONSTRAINT fk_payments_user FOREIGN KEY (user_id) REFERENCES users (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    await q.query(`
      CREATE TABLE ledger_entries (
        id BIGINT NOT NULL AUTO_INCREMENT,
        user_id CHAR(36) NOT NULL,
        type ENUM('CHARGE','PAYMENT') NOT NULL,
        amount BIGINT NOT NULL,
        balance_after BIGINT NOT NULL,
        payment_id CHAR(36) NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        PRIMARY KEY (id),
        KEY idx_ledger_user (user_id, id),
        CONSTRAINT fk_ledger_user FOREIGN KEY (user_id) REFERENCES users (id),
        CONSTRAINT fk_ledger_payment FOREIGN KEY (payment_id) REFERENCES payments (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    await q.query(`
      CREATE TABLE idempotency_keys (
        user_id CHAR(36) NOT NULL,
        idempotency_key VARCHAR(64) NOT NULL,
        operation ENUM('CHARGE','PAYMENT') NOT NULL,
        request_hash CHAR(64) NOT NULL,
        response_status SMALLINT NULL,
        response_body JSON NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        PRIMARY KEY (user_id, idempotency_key),
        CONSTRAINT fk_idempotency_user FOREIGN KEY (user_id) REFERENCES users (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  }

  public async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'idempotency_keys',
      'ledger_entries',
      'payments',
      'reservations',
      'seats',
      'performances',
      'concerts',
      'users',
    ]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
