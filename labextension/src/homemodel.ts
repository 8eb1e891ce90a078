/**
 * The state behind the spaces home: the caller, the catalogues, the spaces
 * (a {@link SpacesModel}), the list's filters and, for admins, the users.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  AppType,
  collect,
  IAppTypeInfo,
  ICreatedUser,
  ICreateUser,
  IImage,
  IInstanceType,
  ISpace,
  IUpdateUser,
  IUser,
  Sharing,
  SpacesApiError,
  SpacesClient,
  SpaceStatus
} from './api';
import { EventSourceFactory, SpacesModel } from './model';
import { matchesSearch } from './util';

/** The home list's filters (applied in the browser: the list is loaded whole). */
export interface IHomeFilters {
  search: string;
  sharing: Sharing | '';
  status: SpaceStatus | '';
  appType: AppType | '';
  /** Only spaces the caller owns. */
  mine: boolean;
}

export const NO_FILTERS: IHomeFilters = {
  search: '',
  sharing: '',
  status: '',
  appType: '',
  mine: false
};

/** The choices of the create and settings forms. */
export interface ICatalog {
  instanceTypes: IInstanceType[];
  images: IImage[];
  appTypes: IAppTypeInfo[];
}

export interface IHomeModelOptions {
  client: SpacesClient;
  eventSourceFactory?: EventSourceFactory;
}

export class HomeModel implements IDisposable {
  constructor(options: IHomeModelOptions) {
    this.client = options.client;
    this.spaces = new SpacesModel({
      client: options.client,
      query: { sort: 'name' },
      eventSourceFactory: options.eventSourceFactory,
      live: 'domain'
    });
    this.spaces.changed.connect(this._emit, this);
  }

  readonly client: SpacesClient;
  readonly spaces: SpacesModel;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The caller (`null` until loaded). */
  get me(): IUser | null {
    return this._me;
  }

  get isAdmin(): boolean {
    return !!this._me?.admin;
  }

  get catalog(): ICatalog {
    return this._catalog;
  }

  get filters(): IHomeFilters {
    return { ...this._filters };
  }

  /** The first load's error (the caller or catalogues could not be read). */
  get loadError(): SpacesApiError | null {
    return this._loadError;
  }

  /** Why the spaces list could not be read (cleared by the next success). */
  get listError(): SpacesApiError | null {
    return this._listError;
  }

  /** Reload the spaces list, keeping its error in {@link listError}. */
  async refresh(): Promise<void> {
    try {
      await this.spaces.refresh();
      this._listError = null;
    } catch {
      this._listError = this.spaces.error;
    }
    this._emit();
  }

  get loaded(): boolean {
    return this._loaded;
  }

  /**
   * The spaces of the home list: those the caller may use (an admin's view
   * of someone else's private space, `role === null`, is metadata only and
   * appears in the admin view alone), filtered.
   */
  get visibleSpaces(): ISpace[] {
    const f = this._filters;
    const me = this._me?.name;
    return this.spaces.spaces.filter(
      s =>
        s.role !== null &&
        (!f.sharing || s.sharing === f.sharing) &&
        (!f.status || s.status === f.status) &&
        (!f.appType || s.app_type === f.appType) &&
        (!f.mine || s.owner === me) &&
        matchesSearch(s, f.search)
    );
  }

  /** Every space's metadata (the admin view), searched but not filtered. */
  get allSpaces(): ISpace[] {
    return this.spaces.spaces.filter(s =>
      matchesSearch(s, this._filters.search)
    );
  }

  /** Users (loaded for admins). */
  get users(): ReadonlyArray<IUser> {
    return this._users;
  }

  setFilters(filters: Partial<IHomeFilters>): void {
    this._filters = { ...this._filters, ...filters };
    this._emit();
  }

  /** Load the caller, the catalogues and the spaces (and users for admins). */
  async load(): Promise<void> {
    try {
      const [me, instanceTypes, images, appTypes] = await Promise.all([
        this.client.me(),
        this.client.instanceTypes(),
        this.client.images(),
        this.client.appTypes()
      ]);
      this._me = me;
      this._catalog = {
        instanceTypes: instanceTypes.items,
        images: images.items,
        appTypes: appTypes.items
      };
      this._loadError = null;
    } catch (error) {
      this._loadError =
        error instanceof SpacesApiError
          ? error
          : new SpacesApiError(String(error), 0, 'error');
      this._loaded = true;
      this._emit();
      return;
    }
    this._loaded = true;
    this._emit();
    await Promise.all([
      this.refresh(),
      this.isAdmin ? this.loadUsers().catch(() => undefined) : undefined
    ]);
  }

  async loadUsers(): Promise<void> {
    this._users = await collect(this.client.allUsers());
    this._emit();
  }

  /** Add a user (admin); the answer carries the one-time API token. */
  async addUser(body: ICreateUser): Promise<ICreatedUser> {
    const user = await this.client.createUser(body);
    const { token: _token, ...plain } = user; // eslint-disable-line @typescript-eslint/no-unused-vars
    this._users = [...this._users, plain].sort((a, b) =>
      a.name.localeCompare(b.name)
    );
    this._emit();
    return user;
  }

  /** Change a user (admin: rights, password) and keep the list in step. */
  async updateUser(name: string, body: IUpdateUser): Promise<IUser> {
    const user = await this.client.updateUser(name, body);
    this._users = this._users.map(u => (u.name === name ? user : u));
    if (this._me?.name === name) {
      this._me = user; // an admin who gave up their rights sees it at once
    }
    this._emit();
    return user;
  }

  async removeUser(name: string): Promise<void> {
    await this.client.deleteUser(name);
    this._users = this._users.filter(u => u.name !== name);
    this._emit();
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.spaces.dispose();
    Signal.clearData(this);
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private _changed = new Signal<this, void>(this);
  private _me: IUser | null = null;
  private _catalog: ICatalog = { instanceTypes: [], images: [], appTypes: [] };
  private _filters: IHomeFilters = { ...NO_FILTERS };
  private _users: IUser[] = [];
  private _loadError: SpacesApiError | null = null;
  private _listError: SpacesApiError | null = null;
  private _loaded = false;
  private _isDisposed = false;
}
