import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { RoomsModuleOptions } from './rooms.options.js';

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: ROOMS_MODULE_OPTIONS,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<RoomsModuleOptions>({ moduleName: 'Rooms' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createRoomsOptions')
  .build();
