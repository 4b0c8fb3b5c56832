import streamlit as st

st.title("4_class_impressions")
st.info("coming")
