// Stands for Matomo: sets its visitor and session cookies and says it ran.
document.cookie = "_pk_id.1.abcd=visitor123.1700000000; path=/; max-age=3600";
document.cookie = "_pk_ses.1.abcd=1; path=/; max-age=1800";
(window.__ran = window.__ran || {}).analytics = true;
