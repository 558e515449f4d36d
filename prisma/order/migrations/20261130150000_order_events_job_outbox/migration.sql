-- Order status events travel through the job outbox ("Outbox", queue order-events, job publish-event)
-- instead of their own table: events not published yet move over first, then the table goes.
INSERT INTO "Outbox" ("id", "queue", "name", "data")
SELECT 'event.' || o."id", 'order-events', 'publish-event',
       jsonb_build_object('topic', o."topic",
                          'event', jsonb_build_object('eventId', o."id", 'keys', jsonb_build_object('orderId', o."orderId"), 'audience', jsonb_build_array(o."buyerId")))
FROM "OrderOutbox" o WHERE o."publishedAt" IS NULL
ON CONFLICT ("id") DO NOTHING;

-- DropForeignKey
ALTER TABLE "OrderOutbox" DROP CONSTRAINT "OrderOutbox_orderId_fkey";

-- DropTable
DROP TABLE "OrderOutbox";
