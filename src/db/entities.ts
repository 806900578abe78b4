import { EntitySchema } from 'typeorm';
import type { LedgerType, ReservationStatus, SeatStatus } from '../shared/types';

/**
 * Table mappings (no decorators, so the same code runs under tsx, swc and tsc). The schema
 * itself is owned by the migrations; `synchronize` stays off everywhere.
 */

export interface User {
  id: string;
  balance: string;
  createdAt: Date;
  updatedAt: Date;
}
export const UserEntity = new EntitySchema<User>({
  name: 'User',
  tableName: 'users',
  columns: {
    id: { type: 'char', length: 36, primary: true },
    balance: { type: 'bigint', default: 0 },
    createdAt: { name: 'created_at', type: 'datetime', precision: 3, createDate: true },
    updatedAt: { name: 'updated_at', type: 'datetime', precision: 3, updateDate: true },
  },
});

export interface Concert {
  id: string;
  title: string;
  createdAt: Date;
}
export const ConcertEntity = new EntitySchema<Concert>({
  name: 'Concert',
  tableName: 'concerts',
  columns: {
    id: { type: 'char', length: 36, primary: true },
    title: { type: 'varchar', length: 200 },
    createdAt: { name: 'created_at', type: 'datetime', precision: 3, createDate: true },
  },
});

export interface Performance {
  id: string;
  concertId: string;
  date: string;
}
export const PerformanceEntity = new EntitySchema<Performance>({
  name: 'Performance',
  tableName: 'performances',
  columns: {
    id: { type: 'char', length: 36, primary: true },
    concertId: { name: 'concert_id', type: 'char', length: 36 },
    date: { type: 'date' },
  },
});

export interface Seat {
  id: string;
  performanceId: string;
  seatNo: number;
  price: string;
  status: SeatStatus;
  holderUserId: string | null;
  holdExpiresAt: Date | null;
  reservationId: string | null;
  updatedAt: Date;
}
export const SeatEntity = new EntitySchema<Seat>({
  name: 'Seat',
  tableName: 'seats',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment' },
    performanceId: { name: 'performance_id', type: 'char', length: 36 },
    seatNo: { name: 'seat_no', type: 'tinyint', unsigned: true },
    price: { type: 'bigint' },
    status: { type: 'enum', enum: ['AVAILABLE', 'HELD', 'SOLD'], default: 'AVAILABLE' },
    holderUserId: { name: 'holder_user_id', type: 'char', length: 36, nullable: true },
    holdExpiresAt: { name: 'hold_expires_at', type: 'datetime', precision: 3, nullable: true },
    reservationId: { name: 'reservation_id', type: 'char', length: 36, nullable: true },
    updatedAt: { name: 'updated_at', type: 'datetime', precision: 3, updateDate: true },
  },
});

export interface Reservation {
  id: string;
  userId: string;
  seatId: string;
  price: string;
  status: ReservationStatus;
  heldUntil: Date;
  createdAt: Date;
  updatedAt: Date;
}
export const ReservationEntity = new EntitySchema<Reservation>({
  name: 'Reservation',
  tableName: 'reservations',
  columns: {
    id: { type: 'char', length: 36, primary: true },
    userId: { name: 'user_id', type: 'char', length: 36 },
    seatId: { name: 'seat_id', type: 'bigint' },
    price: { type: 'bigint' },
    status: { type: 'enum', enum: ['HELD', 'CONFIRMED', 'EXPIRED', 'CANCELLED'] },
    heldUntil: { name: 'held_until', type: 'datetime', precision: 3 },
    createdAt: { name: 'created_at', type: 'datetime', precision: 3, createDate: true },
    updatedAt: { name: 'updated_at', type: 'datetime', precision: 3, updateDate: true },
  },
});

export interface Payment {
  id: string;
  reservationId: string;
  userId: string;
  amount: string;
  balanceAfter: string;
  paidAt: Date;
}
export const PaymentEntity = new EntitySchema<Payment>({
  name: 'Payment',
  tableName: 'payments',
  columns: {
    id: { type: 'char', length: 36, primary: true },
    reservationId: { name: 'reservation_id', type: 'char', length: 36 },
    userId: { name: 'user_id', type: 'char', length: 36 },
    amount: { type: 'bigint' },
    balanceAfter: { name: 'balance_after', type: 'bigint' },
    paidAt: { name: 'paid_at', type: 'datetime', precision: 3 },
  },
});

export interface LedgerEntry {
  id: string;
  userId: string;
  type: LedgerType;
  amount: string;
  balanceAfter: string;
  paymentId: string | null;
  createdAt: Date;
}
export const LedgerEntryEntity = new EntitySchema<LedgerEntry>({
  name: 'LedgerEntry',
  tableName: 'ledger_entries',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment' },
    userId: { name: 'user_id', type: 'char', length: 36 },
    type: { type: 'enum', enum: ['CHARGE', 'PAYMENT'] },
    amount: { type: 'bigint' },
    balanceAfter: { name: 'balance_after', type: 'bigint' },
    paymentId: { name: 'payment_id', type: 'char', length: 36, nullable: true },
    createdAt: { name: 'created_at', type: 'datetime', precision: 3, createDate: true },
  },
});

export interface IdempotencyKey {
  userId: string;
  idempotencyKey: string;
  operation: LedgerType;
  requestHash: string;
  responseStatus: number | null;
  responseBody: unknown;
  createdAt: Date;
}
export const IdempotencyKeyEntity = new EntitySchema<IdempotencyKey>({
  name: 'IdempotencyKey',
  tableName: 'idempotency_keys',
  columns: {
    userId: { name: 'user_id', type: 'char', length: 36, primary: true },
    idempotencyKey: { name: 'idempotency_key', type: 'varchar', length: 64, primary: true },
    operation: { type: 'enum', enum: ['CHARGE', 'PAYMENT'] },
    requestHash: { name: 'request_hash', type: 'char', length: 64 },
    responseStatus: { name: 'response_status', type: 'smallint', nullable: true },
    responseBody: { name: 'response_body', type: 'json', nullable: true },
    createdAt: { name: 'created_at', type: 'datetime', precision: 3, createDate: true },
  },
});

export const entities = [
  UserEntity,
  ConcertEntity,
  PerformanceEntity,
  SeatEntity,
  ReservationEntity,
  PaymentEntity,
  LedgerEntryEntity,
  IdempotencyKeyEntity,
];
