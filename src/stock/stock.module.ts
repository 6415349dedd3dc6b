import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { Catalog } from './catalog.js';
import { Product, ProductSchema } from './product.schema.js';
import { StockRepository } from './stock.repository.js';

@Module({
  imports: [MongooseModule.forFeature([{ name: Product.name, schema: ProductSchema }])],
  providers: [StockRepository, Catalog],
  exports: [StockRepository, Catalog],
})
export class StockModule {}
