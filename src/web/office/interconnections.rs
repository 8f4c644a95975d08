//! The "Interconnexions" page: every external call, filters, retry.

use crate::web::routes::Routes;

/// Adds the interconnection pages to the site.
pub fn register(routes: Routes) -> Routes {
    routes
}
