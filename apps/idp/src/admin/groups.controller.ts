import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  type PipeTransform,
  Post,
  UseGuards,
} from '@nestjs/common';
import { type Actor, GroupsService, type MemberRef } from '@signoff/core';
import { AdminActor, AdminGuard } from './admin.guard';
import { schemas } from './schemas';
import { IdParam, JsonBody } from './validation';
import { groupView } from './views';

/** A group in the path: its id or its name (as the CLI names it); anything longer than either names nothing. */
class GroupParam implements PipeTransform {
  transform(value: string): string {
    if (value.length > 64) throw new NotFoundException('No such group.');
    return value;
  }
}

/**
 * Groups and their members: what applications authorize by (OIDC `groups` claim, SAML `isMemberOf`).
 * GroupsService checks the names and records the audit events.
 */
@Controller('api/v1/groups')
@UseGuards(AdminGuard)
export class GroupsController {
  constructor(private readonly groups: GroupsService) {}

  @Get()
  async list() {
    return { items: (await this.groups.list()).map((group) => groupView(group)) };
  }

  @Post()
  async create(
    @Body(new JsonBody(schemas.GroupCreate)) body: { name: string; description?: string | null },
    @AdminActor() actor: Actor,
  ) {
    return groupView(await this.groups.create(body, actor), []);
  }

  @Get(':group')
  async get(@Param('group', GroupParam) idOrName: string) {
    const { group, members } = await this.groups.withMembers(idOrName);
    return groupView(group, members);
  }

  /** Deletes the group and its memberships; applications see it gone at the user's next sign-in. */
  @Delete(':group')
  @HttpCode(204)
  async remove(@Param('group', GroupParam) idOrName: string, @AdminActor() actor: Actor) {
    await this.groups.remove(idOrName, actor);
  }

  /** Adds a user (by id or username); a member already: nothing changes. Answers the group with its members. */
  @Post(':group/members')
  @HttpCode(200)
  async addMember(
    @Param('group', GroupParam) idOrName: string,
    @Body(new JsonBody(schemas.GroupMemberAdd)) body: { userId?: string; username?: string },
    @AdminActor() actor: Actor,
  ) {
    const member: MemberRef = body.userId ?? { username: body.username! };
    await this.groups.addMember(idOrName, member, actor);
    const { group, members } = await this.groups.withMembers(idOrName);
    return groupView(group, members);
  }

  /** Removes a user from the group; 404 when they are not a member. Answers the group with its members. */
  @Delete(':group/members/:userId')
  async removeMember(
    @Param('group', GroupParam) idOrName: string,
    @Param('userId', IdParam) userId: string,
    @AdminActor() actor: Actor,
  ) {
    await this.groups.removeMember(idOrName, userId, actor);
    const { group, members } = await this.groups.withMembers(idOrName);
    return groupView(group, members);
  }
}
