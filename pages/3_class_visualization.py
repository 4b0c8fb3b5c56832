import streamlit as st

st.title("3_class_visualization")
st.info("coming")
