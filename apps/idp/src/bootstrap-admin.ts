import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { CONFIG, type Config, SignoffError, SYSTEM, UsersService } from '@signoff/core';

/** Creates BOOTSTRAP_ADMIN_USERNAME on first start; an existing user of that name is left untouched. */
@Injectable()
export class BootstrapAdmin implements OnApplicationBootstrap {
  private readonly logger = new Logger(BootstrapAdmin.name);

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly users: UsersService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const admin = this.config.bootstrapAdmin;
    if (!admin || (await this.users.findByUsername(admin.username))) return;
    try {
      await this.users.create({ username: admin.username, password: admin.password, isAdmin: true }, SYSTEM);
      this.logger.log({ msg: 'created bootstrap administrator', username: admin.username });
    } catch (error) {
      if (!(error instanceof SignoffError && error.code === 'conflict')) throw error; // another process created it first
    }
  }
}
