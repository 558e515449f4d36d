import { subgraphCodegen } from "@mallgraph/platform/codegen";

const t = (name: string) => `../services/types.ts#${name}`;

export default subgraphCodegen({
  contextType: "../context.ts#Context",
  mappers: {
    Order: t("OrderRecord"),
    OrderItem: t("OrderItemView"),
    OrderStatusEvent: t("StatusEventView"),
    OrderStatusChange: t("StatusChangeRow"),
    Shipment: t("ShipmentView"),
    TrackingEvent: t("TrackingEventRow"),
    AfterSale: t("AfterSaleRow"),
    PlaceOrderResult: t("PlaceOrderOutcome"),
    OrderResult: t("OrderOutcome"),
    AfterSaleResult: t("AfterSaleOutcome"),
    OrderConnection: t("OrderPage"),
  },
});
