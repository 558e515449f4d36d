import type { CodegenConfig } from "@graphql-codegen/cli";

const t = (name: string) => `../services/types.ts#${name}`;

const config: CodegenConfig = {
  schema: "schema.graphql",
  generates: {
    "src/generated/graphql.ts": {
      plugins: ["typescript", "typescript-resolvers"],
      config: {
        federation: true,
        useIndexSignature: true,
        contextType: "../context.ts#Context",
        enumsAsTypes: true,
        useTypeImports: true,
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
      },
    },
  },
};
export default config;
