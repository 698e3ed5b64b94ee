from django.urls import path

from . import products

urlpatterns: list = []
urlpatterns += [
    path("products/", products.ProductListApi.as_view(), name="products-list"),
    path("products/<str:id>", products.ProductDetailApi.as_view(), name="products-detail"),
    path("products/<str:id>/benefits", products.ProductBenefitsApi.as_view(), name="products-benefits"),
    path("products/<str:id>/prices", products.ProductPriceHistoryApi.as_view(), name="products-prices"),
]
