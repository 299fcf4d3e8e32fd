"""still"""
