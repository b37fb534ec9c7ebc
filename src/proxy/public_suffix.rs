//! Public suffixes under which a wildcard allow rule would cover unrelated
//! owners (`*.co.uk` grants every UK company, `*.github.io` every GitHub
//! Pages site).

/// Multi-label public suffixes and shared-hosting apexes.
///
/// This list is deliberately *partial*: it holds the suffixes people most
/// often write by mistake, not the full Public Suffix List (which is large
/// and changes weekly). Single-label suffixes (`*.com`, `*.io`) are refused
/// by a separate, complete rule in the pattern parser. Apexes that are not
/// themselves public suffixes (e.g. `amazonaws.com`, where only some
/// subtrees are) stay allowed so common real-world allow lists still load.
#[rustfmt::skip]
pub const MULTI_LABEL_PUBLIC_SUFFIXES: &[&str] = &[
    "co.uk", "org.uk", "ac.uk", "gov.uk", "ltd.uk", "plc.uk", "me.uk", "net.uk", "sch.uk",
    "com.au", "net.au", "org.au", "edu.au", "gov.au", "id.au", "co.nz", "net.nz", "org.nz",
    "govt.nz", "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "co.kr", "or.kr", "com.cn",
    "net.cn", "org.cn", "gov.cn", "edu.cn", "com.tw", "com.hk", "com.sg", "com.my", "co.in",
    "net.in", "org.in", "co.za", "com.br", "net.br", "org.br", "com.mx", "com.ar", "com.tr",
    "co.il", "com.ua", "co.id", "com.pl", "com.es", "co.th", "com.vn", "com.ph", "com.pk",
    "com.ng", "com.eg", "com.sa", "co.ke", "github.io", "gitlab.io", "pages.dev",
    "workers.dev", "netlify.app", "vercel.app", "web.app", "firebaseapp.com", "herokuapp.com",
    "appspot.com", "blogspot.com", "azurewebsites.net", "cloudfront.net",
    "s3.amazonaws.com", "fly.dev", "onrender.com", "ngrok.io", "ngrok-free.app", "r2.dev",
    "readthedocs.io", "glitch.me", "repl.co", "surge.sh", "now.sh",
];
