import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { type Actor, GroupsService, type NewUser, type UserChanges, UsersService } from '@signoff/core';
import { IdpSessionsService } from '@signoff/sessions';
import { AdminActor, AdminGuard } from './admin.guard';
import { schemas } from './schemas';
import { UserAdminService } from './user-admin.service';
import { enumFilter, IdParam, JsonBody, pageOf, textFilter } from './validation';
import { sessionView, userView } from './views';

@Controller('api/v1/users')
@UseGuards(AdminGuard)
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly admin: UserAdminService,
    private readonly sessions: IdpSessionsService,
    private readonly groups: GroupsService,
  ) {}

  @Post()
  async create(@Body(new JsonBody(schemas.UserCreate)) body: NewUser, @AdminActor() actor: Actor) {
    return userView(await this.users.create(body, actor));
  }

  /** By username; `q` narrows to users whose username, email or name contains it (ignoring case). */
  @Get()
  async list(@Query() query: Record<string, unknown>) {
    const page = pageOf(query);
    const { items, total } = await this.users.list({ ...page, q: textFilter(query, 'q') });
    return { items: items.map(userView), total, ...page };
  }

  /** The user with the groups they belong to (the list leaves groups out). */
  @Get(':id')
  async get(@Param('id', IdParam) id: string) {
    const user = await this.users.get(id);
    const groups = await this.groups.groupsOf(id);
    return { ...userView(user), groups: groups.map((group) => ({ id: group.id, name: group.name })) };
  }

  /** A new password also ends all the user's sessions and revokes their tokens (see UserAdminService.changePassword). */
  @Patch(':id')
  async update(
    @Param('id', IdParam) id: string,
    @Body(new JsonBody(schemas.UserUpdate)) body: UserChanges & { password?: string },
    @AdminActor() actor: Actor,
  ) {
    return userView((await this.admin.update(id, body, actor)).user);
  }

  /**
   * Deactivates many users in one call and ends all their sessions in one logout operation; the
   * applications are told asynchronously. Declared before `:id/…` routes only for readability: the
   * paths differ in length, so neither shadows the other.
   */
  @Post('deactivate')
  @HttpCode(202)
  async deactivateMany(
    @Body(new JsonBody(schemas.UsersDeactivate)) body: { ids: string[] },
    @AdminActor() actor: Actor,
  ) {
    const { users, deactivated, operation } = await this.admin.deactivateMany(body.ids, actor);
    return {
      users: users.map(userView),
      deactivated: deactivated.map((user) => user.id),
      endedSessions: operation.idpSessionIds,
      operationId: operation.id,
    };
  }

  /** Deactivates the user and ends all their sessions; the applications are told asynchronously. */
  @Post(':id/deactivate')
  @HttpCode(202)
  async deactivate(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    const { user, operation } = await this.admin.deactivate(id, actor);
    return { user: userView(user), endedSessions: operation.idpSessionIds, operationId: operation.id };
  }

  /** Lets a deactivated user sign in again; an active user is answered as is. */
  @Post(':id/activate')
  @HttpCode(200)
  async activate(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    return userView(await this.admin.activate(id, actor));
  }

  /** Ends every session of the user (full SLO, back channels, asynchronously); the user stays active. */
  @Delete(':id/sessions')
  @HttpCode(202)
  async endAllSessions(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    const operation = await this.admin.endAllSessions(id, actor);
    return { endedSessions: operation.idpSessionIds, operationId: operation.id };
  }

  /** The list convention (limit, offset, total); `include_ended=true` adds the ended sessions. */
  @Get(':id/sessions')
  async userSessions(@Param('id', IdParam) id: string, @Query() query: Record<string, unknown>) {
    const page = pageOf(query);
    const includeEnded = enumFilter(query, 'include_ended', ['true', 'false']) === 'true';
    await this.users.get(id);
    const { items, total } = await this.sessions.listForUser(id, { includeEnded, ...page });
    return { items: items.map(sessionView), total, ...page };
  }
}
