import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { Product, ProductSchema } from './product.schema.js';
import { StockController } from './stock.controller.js';
import { StockRepository } from './stock.repository.js';

@Module({
  imports: [MongooseModule.forFeature([{ name: Product.name, schema: ProductSchema }])],
  controllers: [StockController],
  providers: [StockRepository],
  exports: [StockRepository],
})
export class StockModule {}
