//! Roles and permissions (`api-v1.md` §2.7, `domain.md` §9.3).

/// A user's role. Only `admin` and `user` can be assigned through the API; `guest` and any
/// unknown stored value (e.g. `viewer`) are read as they are and get the permissions below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    User,
    Guest,
    /// A stored role the contract does not know: no permission at all.
    Other,
}

impl Role {
    /// Parse the stored role text.
    pub fn parse(s: &str) -> Role {
        match s {
            "admin" => Role::Admin,
            "user" => Role::User,
            "guest" => Role::Guest,
            _ => Role::Other,
        }
    }
    /// True for roles that can be assigned through `POST/PUT /users`.
    pub fn assignable(s: &str) -> bool {
        matches!(Role::parse(s), Role::Admin | Role::User)
    }
    /// The permission decision of `api-v1.md` §2.7.
    pub fn allows(self, perm: Permission) -> bool {
        match self {
            Role::Admin => true,
            Role::User => matches!(
                perm,
                Permission::View | Permission::InstanceListView | Permission::InstanceSyncCapacity
            ),
            Role::Guest => perm == Permission::View,
            Role::Other => false,
        }
    }
}

/// A permission an endpoint requires (`api-v1.md` §2.7); its wire name appears in
/// `需要 <perm> 权限`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    View,
    Create,
    Update,
    Delete,
    Admin,
    InstanceListView,
    InstanceSyncCapacity,
    SchedulerManage,
    /// `scheduler.view` (admin only).
    SchedulerView,
    /// `database_ledger.view` (admin only).
    DatabaseLedgerView,
}

impl Permission {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::View => "view",
            Permission::Create => "create",
            Permission::Update => "update",
            Permission::Delete => "delete",
            Permission::Admin => "admin",
            Permission::InstanceListView => "instance_management.instance_list.view",
            Permission::InstanceSyncCapacity => "instance_management.instance_list.sync_capacity",
            Permission::SchedulerManage => "scheduler.manage",
            Permission::SchedulerView => "scheduler.view",
            Permission::DatabaseLedgerView => "database_ledger.view",
        }
    }
}

/// Derived instance status (`api-v1.md` §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceStatus {
    Active,
    Inactive,
    Deleted,
}

impl InstanceStatus {
    /// `deleted` wins over `inactive`.
    pub fn of(is_active: bool, deleted: bool) -> Self {
        if deleted {
            InstanceStatus::Deleted
        } else if is_active {
            InstanceStatus::Active
        } else {
            InstanceStatus::Inactive
        }
    }
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Active => "active",
            InstanceStatus::Inactive => "inactive",
            InstanceStatus::Deleted => "deleted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn role_table() {
        assert!(Role::parse("admin").allows(Permission::SchedulerManage));
        assert!(Role::parse("user").allows(Permission::View));
        assert!(!Role::parse("user").allows(Permission::Create));
        assert!(!Role::parse("viewer").allows(Permission::View));
        assert!(Role::parse("guest").allows(Permission::View));
        assert!(!Role::assignable("guest"));
        assert_eq!(InstanceStatus::of(false, true).as_str(), "deleted");
    }
}
