// Stands for the Facebook Pixel: sets its browser id cookie and says it ran.
document.cookie = "_fbp=fb.1.1700000000000.123456789; path=/; max-age=3600";
(window.__ran = window.__ran || {}).advertising = true;
