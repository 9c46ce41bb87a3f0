//! Brand profiles.

use crate::Services;
use crate::actor::Actor;
use crate::audit::{AuditAction as A, AuditEvent as E};
use crate::error::{Result, ServiceError};
use nanopost_domain::brand::{Brand, BrandInput};
use nanopost_domain::ids::BrandId;
use nanopost_domain::role::Permission;
use nanopost_storage::{Page, PageRequest};

impl Services {
    pub async fn create_brand(&self, actor: &Actor, input: &BrandInput) -> Result<Brand> {
        actor.require(Permission::EditContent)?;
        let now = self.now();
        let brand = Brand {
            id: BrandId::new(),
            workspace_id: actor.workspace_id,
            profile: input.validate()?,
            created_at: now,
            updated_at: now,
        };
        self.store().insert_brand(&brand).await?;
        Ok(brand)
    }

    pub async fn brand(&self, actor: &Actor, id: BrandId) -> Result<Brand> {
        actor.require(Permission::Read)?;
        self.store().brand(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound)
    }

    pub async fn brands(&self, actor: &Actor, page: PageRequest) -> Result<Page<Brand>> {
        actor.require(Permission::Read)?;
        Ok(self.store().brands(actor.workspace_id, page).await?)
    }

    pub async fn update_brand(&self, actor: &Actor, id: BrandId, input: &BrandInput) -> Result<Brand> {
        actor.require(Permission::EditContent)?;
        let profile = input.validate()?;
        let before = self.store().brand(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound)?;
        let brand = self.store().update_brand(actor.workspace_id, id, &profile, self.now()).await?;
        // Settings changes are audited with the fields that changed (names only).
        let fields = crate::audit::changed_fields(&before.profile, &brand.profile);
        if !fields.is_empty() {
            self.audit(E::by(actor, A::BrandSettingsChanged).changed("brand", id, &fields)).await;
        }
        Ok(brand)
    }

    /// Deletes the brand and, with it, its posts and its media: the rows at once, the files
    /// right after (a file that cannot be deleted now is left to the media sweep, which removes
    /// objects no row names).
    pub async fn delete_brand(&self, actor: &Actor, id: BrandId) -> Result<()> {
        actor.require(Permission::EditContent)?;
        let keys = self.store().delete_brand(actor.workspace_id, id).await?;
        self.delete_objects(&keys).await;
        self.audit(E::by(actor, A::BrandDeleted).target("brand", id)).await;
        Ok(())
    }
}
