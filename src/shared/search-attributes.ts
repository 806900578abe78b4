import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Search attributes the workflows set; the dev server registers them at start (scripts/provision.ts). */
export const SA = {
  userId: defineSearchAttributeKey('UserId', SearchAttributeType.KEYWORD),
  queueStatus: defineSearchAttributeKey('QueueStatus', SearchAttributeType.KEYWORD),
  reservationStatus: defineSearchAttributeKey('ReservationStatus', SearchAttributeType.KEYWORD),
  concertId: defineSearchAttributeKey('ConcertId', SearchAttributeType.KEYWORD),
  concertDate: defineSearchAttributeKey('ConcertDate', SearchAttributeType.KEYWORD),
  seatNo: defineSearchAttributeKey('SeatNo', SearchAttributeType.INT),
} as const;

/** `name=Type` pairs for `temporal server start-dev --search-attribute`. */
export const searchAttributeFlags: readonly string[] = [
  'UserId=Keyword',
  'QueueStatus=Keyword',
  'ReservationStatus=Keyword',
  'ConcertId=Keyword',
  'ConcertDate=Keyword',
  'SeatNo=Int',
];
