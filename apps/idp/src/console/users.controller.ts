import { Body, Controller, Get, HttpStatus, Param, Post, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import { GroupsService, type NewUser, type UserChanges, UsersService } from '@signoff/core';
import { IdpSessionsService } from '@signoff/sessions';
import type { Response } from 'express';
import { schemas } from '../admin/schemas';
import { UserAdminService } from '../admin/user-admin.service';
import { IdParam, JsonBody, pageOf } from '../admin/validation';
import type { FormProblem } from './console-layout';
import { Admin, type ConsoleAdmin, ConsoleGuard, SignInFirst } from './console.guard';
import { all, checked, clearable, defined, type FormBody, formProblem, problemStatus, text } from './forms';
import { newUserPage, type UserFields, type UserModel, userPage, usersPage } from './users.pages';

const NOTICES: Record<string, string> = {
  created: 'The user was created.',
  saved: 'The profile was saved.',
  groups: 'The groups were saved.',
  password: 'The password was set; their sessions were ended.',
  activated: 'The user was activated. They can sign in again.',
};

// The console's forms are checked by the admin API's own schemas: the same rules, the same messages.
const userCreate = new JsonBody(schemas.UserCreate);
const userUpdate = new JsonBody(schemas.UserUpdate);

/** The profile fields of a user form, as the admin API takes them (blank clears a field). */
const profileOf = (body: FormBody) =>
  defined({
    email: clearable(body, 'email'),
    emailVerified: checked(body, 'emailVerified'),
    name: clearable(body, 'name'),
    givenName: clearable(body, 'givenName'),
    familyName: clearable(body, 'familyName'),
    isAdmin: checked(body, 'isAdmin'),
  });

/** Users: search, create, edit profile, groups and admin flag, reset password, activate and deactivate. */
@Controller('admin/users')
@UseGuards(ConsoleGuard)
@UseFilters(SignInFirst)
export class ConsoleUsersController {
  constructor(
    private readonly users: UsersService,
    private readonly admin: UserAdminService,
    private readonly groups: GroupsService,
    private readonly sessions: IdpSessionsService,
  ) {}

  @Get()
  async list(
    @Admin() admin: ConsoleAdmin,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
  ): Promise<void> {
    const page = pageOf(query);
    const q = text(query, 'q');
    const { items, total } = await this.users.list({ ...page, q });
    res.type('html').send(usersPage(admin, { items, total, ...page, q }));
  }

  @Get('new')
  newUser(@Admin() admin: ConsoleAdmin, @Res() res: Response): void {
    res.type('html').send(newUserPage(admin, {}));
  }

  @Post('new')
  async create(@Admin() admin: ConsoleAdmin, @Body() body: FormBody, @Res() res: Response): Promise<void> {
    const input = defined({
      username: text(body, 'username') ?? '',
      password: text(body, 'password'),
      ...profileOf(body),
    });
    try {
      const user = await this.users.create(userCreate.transform(input) as NewUser, admin.actor);
      res.redirect(HttpStatus.SEE_OTHER, `/admin/users/${user.id}?done=created`);
    } catch (error) {
      const problem = formProblem(error);
      if (!problem) throw error;
      const fields = { ...input, password: undefined } as UserFields;
      res
        .status(problemStatus(error))
        .type('html')
        .send(newUserPage(admin, fields, problem));
    }
  }

  @Get(':id')
  async detail(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Query('done') done: unknown,
    @Res() res: Response,
  ): Promise<void> {
    const notice = typeof done === 'string' ? NOTICES[done] : undefined;
    res.type('html').send(userPage(admin, await this.model(id, { notice })));
  }

  @Post(':id')
  async update(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    const changes = profileOf(body);
    await this.act(admin, res, id, 'profile', changes as UserFields, async () => {
      await this.admin.update(id, userUpdate.transform(changes) as UserChanges, admin.actor);
      return 'saved';
    });
  }

  @Post(':id/groups')
  async setGroups(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    const wanted = new Set(all(body, 'group'));
    await this.act(admin, res, id, 'groups', undefined, async () => {
      const current = new Set((await this.groups.groupsOf(id)).map((group) => group.id));
      for (const group of wanted) if (!current.has(group)) await this.groups.addMember(group, id, admin.actor);
      for (const group of current) if (!wanted.has(group)) await this.groups.removeMember(group, id, admin.actor);
      return 'groups';
    });
  }

  /** Creates a group (as POST /api/v1/groups does) and puts the user in it. */
  @Post(':id/groups/new')
  async createGroup(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    await this.act(admin, res, id, 'groups', undefined, async () => {
      await this.users.get(id);
      const group = await this.groups.create({ name: text(body, 'groupName') ?? '' }, admin.actor);
      await this.groups.addMember(group.id, id, admin.actor);
      return 'groups';
    });
  }

  @Post(':id/password')
  async setPassword(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    const password = typeof body.password === 'string' ? body.password : '';
    await this.act(admin, res, id, 'password', undefined, async () => {
      await this.admin.changePassword(id, password, admin.actor);
      return 'password';
    });
  }

  /** Deactivates the user; the page of the logout it started follows its deliveries as they settle. */
  @Post(':id/deactivate')
  async deactivate(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Res() res: Response,
  ): Promise<void> {
    const { operation } = await this.admin.deactivate(id, admin.actor);
    res.redirect(HttpStatus.SEE_OTHER, `/admin/logouts/${operation.id}`);
  }

  @Post(':id/activate')
  async activate(@Admin() admin: ConsoleAdmin, @Param('id', IdParam) id: string, @Res() res: Response): Promise<void> {
    await this.admin.activate(id, admin.actor);
    res.redirect(HttpStatus.SEE_OTHER, `/admin/users/${id}?done=activated`);
  }

  @Post(':id/end-sessions')
  async endSessions(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Res() res: Response,
  ): Promise<void> {
    const operation = await this.admin.endAllSessions(id, admin.actor);
    res.redirect(HttpStatus.SEE_OTHER, `/admin/logouts/${operation.id}`);
  }

  /** Runs one form's change; on success back to the user's page with its notice, on a refusal the page again with the problem at that form. */
  private async act(
    admin: ConsoleAdmin,
    res: Response,
    id: string,
    form: NonNullable<UserModel['problemIn']>,
    fields: UserFields | undefined,
    change: () => Promise<string>,
  ): Promise<void> {
    let problem: FormProblem | null;
    try {
      const done = await change();
      return res.redirect(HttpStatus.SEE_OTHER, `/admin/users/${id}?done=${done}#${form}`);
    } catch (error) {
      problem = formProblem(error);
      if (!problem || problemStatus(error) === HttpStatus.NOT_FOUND) throw error;
      res.status(problemStatus(error));
    }
    res.type('html').send(userPage(admin, await this.model(id, { fields, problem, problemIn: form })));
  }

  private async model(id: string, extra: Partial<UserModel>): Promise<UserModel> {
    const user = await this.users.get(id);
    const [groups, allGroups, sessions] = await Promise.all([
      this.groups.groupsOf(id),
      this.groups.list(),
      this.sessions.listLive({ userId: id }, { limit: 200, offset: 0 }),
    ]);
    return { user, groups, allGroups, sessions: sessions.items, ...extra };
  }
}
