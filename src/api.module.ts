import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AdminModule } from './admin/admin.module.js';
import { DeadLetterController } from './admin/dead-letter.controller.js';
import { AuthController } from './auth/auth.controller.js';
import { AuthModule } from './auth/auth.module.js';
import { LiveEventsModule } from './events/live-events.module.js';
import { JwtAuthGuard, RolesGuard } from './auth/guards.js';
import { OrderController } from './order/order.controller.js';
import { OrderModule } from './order/order.module.js';
import { RateLimitGuard } from './rate-limit/rate-limit.guard.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { StockController } from './stock/stock.controller.js';
import { StockModule } from './stock/stock.module.js';
import { UsersController } from './users/users.controller.js';
import { UsersModule } from './users/users.module.js';
import { OrderAdminController } from './order/order-admin.controller.js';
import { UserRolesController } from './auth/user-roles.controller.js';
import { UserSearchController } from './users/user-search.controller.js';
import { ReportsController } from './reports/reports.controller.js';
import { ReportsModule } from './reports/reports.module.js';

/**
 * The storefront and admin HTTP surface, present in the `api` and `all` roles. Every route needs
 * a valid access cookie unless marked @Public(); @Roles(...) narrows it further.
 *
 * The feature modules provide services to both roles; their controllers are mounted here, so a
 * worker (whose health port is an HTTP server too) never serves them. Health and metrics, served
 * by every role, mount their own.
 */
@Module({
  imports: [
    AuthModule,
    UsersModule,
    StockModule,
    OrderModule,
    RateLimitModule,
    AdminModule,
    LiveEventsModule,
    ReportsModule,
  ],
  controllers: [
    AuthController,
    UsersController,
    UserRolesController,
    UserSearchController,
    StockController,
    OrderController,
    OrderAdminController,
    DeadLetterController,
    ReportsController,
  ],
  providers: [
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
    // After authentication, so the per-user order limit knows the user.
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
})
export class ApiModule {}
