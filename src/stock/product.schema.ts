import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { HydratedDocument } from 'mongoose';

/** Stock an order holds on this product while it is being decided. */
@Schema({ _id: false, versionKey: false })
export class Hold {
  @Prop({ required: true })
  orderId!: string;

  @Prop({ required: true })
  quantity!: number;
}

const HoldSchema = SchemaFactory.createForClass(Hold);

/**
 * A cancelled order gave back its stock on this product: the mark makes giving back happen once
 * however many times it is tried. Kept a day, long after any attempt of it could still be running.
 */
@Schema({ _id: false, versionKey: false })
export class StockReturn {
  @Prop({ required: true })
  orderId!: string;

  @Prop({ required: true })
  at!: Date;
}

const StockReturnSchema = SchemaFactory.createForClass(StockReturn);

/**
 * A catalog product and its inventory. Conservation holds at all times:
 * `available + reserved + sold = received` (initial quantity plus every restock or correction),
 * and `reserved` is the sum of `holds`. Every write increments `version`; reservations write
 * conditionally on the version they read (optimistic locking).
 */
@Schema({ collection: 'products', timestamps: true, versionKey: false })
export class Product {
  @Prop({ required: true, trim: true })
  name!: string;

  @Prop({ default: '' })
  description!: string;

  /** Minor units of `currency`. */
  @Prop({ required: true, min: 0 })
  price!: number;

  @Prop({ required: true, uppercase: true })
  currency!: string;

  @Prop({ required: true, default: true, index: true })
  active!: boolean;

  @Prop({ required: true, min: 0 })
  available!: number;

  @Prop({ required: true, default: 0, min: 0 })
  reserved!: number;

  @Prop({ required: true, default: 0, min: 0 })
  sold!: number;

  @Prop({ required: true, min: 0 })
  received!: number;

  @Prop({ required: true, default: 0 })
  version!: number;

  @Prop({ type: [HoldSchema], default: [] })
  holds!: Hold[];

  @Prop({ type: [StockReturnSchema], default: [] })
  returns!: StockReturn[];

  createdAt!: Date;
  updatedAt!: Date;
}

export type ProductDocument = HydratedDocument<Product>;
export const ProductSchema = SchemaFactory.createForClass(Product);
